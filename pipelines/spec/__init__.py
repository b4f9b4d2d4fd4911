"""The interchange format, defined once: datasets and their columns, reference lists, upload templates
and the data dictionary (../shared/spec/format-echange-v1.md is the contract they implement)."""
