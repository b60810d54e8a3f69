from labgrade_runtime.runner.run import main

raise SystemExit(main())
