"""Looking inside the models: selectivity scores, feature visualisation and attributions."""
