"""One reconcile pass: observe Azure and Kubernetes, plan one step, act on it, record the outcome."""
