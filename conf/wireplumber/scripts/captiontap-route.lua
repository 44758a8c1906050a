-- captiontap-route.lua: for every new audio output stream whose application.name is listed,
-- set `target.object` for it in the "default" metadata; WirePlumber's policy-node follows that
-- (policy "move", on by default) and links the stream to the target sink.
local config = ... or {}
local target = config.target or "Captions"
local wanted = {}
for _, name in ipairs(config.applications or {}) do
  wanted[name] = true
end

-- Globals, not locals: an object manager that is garbage-collected stops calling back.
captiontap_metadata_om = ObjectManager {
  Interest { type = "metadata", Constraint { "metadata.name", "=", "default" } }
}

captiontap_streams_om = ObjectManager {
  Interest { type = "node", Constraint { "media.class", "=", "Stream/Output/Audio", type = "pw-global" } }
}

captiontap_streams_om:connect("object-added", function (_, node)
  local app = node.properties["application.name"]
  if app == nil or not wanted[app] then
    return
  end
  local metadata = captiontap_metadata_om:lookup()
  if metadata == nil then
    Log.warning("captiontap-route: no default metadata; cannot route " .. app)
    return
  end
  Log.info("captiontap-route: routing " .. app .. " to " .. target)
  metadata:set(node["bound-id"], "target.object", "Spa:String", target)
end)

captiontap_metadata_om:activate()
captiontap_streams_om:activate()
