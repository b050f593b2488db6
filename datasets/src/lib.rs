//! Dataset manifests and instance generators.
