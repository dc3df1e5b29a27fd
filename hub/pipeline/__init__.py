"""The belt's stages: intake, the pipeline engine and its batch, lifecycle and contacts, delivery."""
