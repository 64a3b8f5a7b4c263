from lazy_artist.cli import main

raise SystemExit(main())
