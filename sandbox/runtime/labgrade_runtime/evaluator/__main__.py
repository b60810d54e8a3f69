from labgrade_runtime.evaluator.evaluate import main

raise SystemExit(main())
