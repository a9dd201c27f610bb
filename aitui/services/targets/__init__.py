"""Where the recognizer runs: the local Docker engine or a Kubernetes context, behind one set of verbs."""
