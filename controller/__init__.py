"""cloudservice-operator: keeps Azure Cloud Services (classic) deployments at the declared state."""
