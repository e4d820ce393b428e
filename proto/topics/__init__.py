"""Topic registry: one YAML file per topic, read by code and by the Helm chart."""
