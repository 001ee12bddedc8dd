-- server_post.lua - wrk script for bench/server.sh: POSTs JSON bodies to one frugal endpoint
-- with 'Authorization: Bearer KEY', rotating over the bodies of a file (one JSON object a line).
-- Environment: FRUGAL_KEY (the key), BENCH_PATH (/v1/search or /v1/ask), BENCH_BODIES (the
-- file). Each wrk thread starts at a different line. done() prints one line
-- "RESULT {json}" with requests, duration, throughput, latency percentiles (ms) and errors.
local key = os.getenv("FRUGAL_KEY")
local path = os.getenv("BENCH_PATH") or "/v1/search"
local file = os.getenv("BENCH_BODIES")
local reqs = {}
local i = 0
local thread_no = 0

function setup(thread)
    thread:set("tid", thread_no)
    thread_no = thread_no + 1
end

function init(args)
    local headers = {
        ["Authorization"] = "Bearer " .. key,
        ["Content-Type"] = "application/json",
    }
    for line in io.lines(file) do
        if #line > 0 then
            reqs[#reqs + 1] = wrk.format("POST", path, headers, line)
        end
    end
    i = ((tid or 0) * 97) % #reqs
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    local s = summary.duration / 1e6
    io.write(string.format(
        'RESULT {"requests":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
        '"p99_ms":%.3f,"max_ms":%.3f,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
        summary.requests, s, summary.requests / s,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000,
        e.connect, e.read, e.write, e.timeout, e.status))
end
