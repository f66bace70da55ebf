"""The demo that `make run` serves: four tenants (one per vertical) and a year of member history,
posted through the product's own services."""
