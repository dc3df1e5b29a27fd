"""What people decide about the belt's output: lead curation, contact duplicates, a lead's explanation."""
