-- For benchmarks/dashboard_load.py --wrk: request the paths listed in the file named by
-- VG_PATHS in rotation; at the end print one JSON line with the latency percentiles.
local paths = {}
for line in io.lines(os.getenv("VG_PATHS")) do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], { ["Host"] = "127.0.0.1" })
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "{\"requests\": %d, \"seconds\": %.1f, \"non_2xx_3xx\": %d, \"socket_errors\": %d, \"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p95_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"paths\": %d}\n",
    summary.requests, summary.duration / 1e6, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, #paths))
end
