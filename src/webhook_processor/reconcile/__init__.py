"""Recovering what never arrived: the providers' events APIs (:mod:`.apis`) and the
reconciliation that stores what they list and the store lacks (:mod:`.run`)."""
