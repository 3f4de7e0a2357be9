"""The shipped model registry, installed with protfam as the package `protfam_registry` (its data: manifest.json and
one folder per bundle version). protfam_core.registry.bundles.registry_dir() finds it with importlib.resources, so an
installed wheel has its default models wherever it is run from; $PROTFAM_REGISTRY points the tools elsewhere."""
