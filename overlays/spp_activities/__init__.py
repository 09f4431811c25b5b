"""spp_activities: the hand-written layer over the generated spp_api client."""
