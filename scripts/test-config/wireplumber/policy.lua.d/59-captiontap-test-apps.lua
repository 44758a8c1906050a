-- Test daemon only: the application the shipped captiontap-route rule must route to Captions.
captiontap_route = { applications = { "CaptiontapRoutedApp" } }
