from aitui.cli import main

raise SystemExit(main())
