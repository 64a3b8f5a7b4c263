"""The report builder: task graph, cache, notebook runner, assembly and rendering."""
