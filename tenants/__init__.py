"""Everything a tenant owns and runs: the tenancy guard, the loyalty domain, services and views."""
