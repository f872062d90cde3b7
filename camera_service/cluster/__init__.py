"""Scale-out: several instances share PostgreSQL; cameras are owned through leases (docs/scale-out.md)."""
