import sys

from deployments.kuberay import main

sys.exit(main())
