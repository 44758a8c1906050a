-- Route chosen applications to the "Captions" sink by default (WirePlumber 0.4).
--
-- Their audio is then captioned by `captiontap run --target Captions` and still heard: the
-- Captions sink passes it through (see pipewire.conf.d/50-captiontap-sink.conf). A stream can
-- still be moved elsewhere in pavucontrol. Applications are matched by application.name (the name
-- in parentheses in `captiontap devices`). To change the list without editing this file, set it
-- in an earlier file, e.g. policy.lua.d/59-my-apps.lua:
--   captiontap_route = { applications = { "Firefox" } }
--
-- Install: copy policy.lua.d/ and scripts/ into ~/.config/wireplumber/, restart WirePlumber.
captiontap_route = captiontap_route or {}
captiontap_route.target = captiontap_route.target or "Captions"
captiontap_route.applications = captiontap_route.applications or { "ZOOM VoiceEngine" }

load_script("captiontap-route.lua", captiontap_route)
