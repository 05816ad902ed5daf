-- SPDX-License-Identifier: Apache-2.0
-- POST /api/v1/leads with a new prospect every time: each wrk thread numbers its own requests, and the round (RUN)
-- and thread number make every email unique across a whole benchmark. Leads come through CODES (the partners'
-- link codes, comma-separated) in turn, as leads from many partners' visitors would.
-- Env: KEY (an admin API key), PROGRAM (the program id), CODES, RUN.
local threads = 0

function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

local codes = {}
local n = 0
local headers, program, run

function init(args)
	for c in string.gmatch(os.getenv("CODES") or "", "[^,]+") do
		codes[#codes + 1] = c
	end
	program = os.getenv("PROGRAM")
	run = os.getenv("RUN")
	headers = {
		["Authorization"] = "Bearer " .. os.getenv("KEY"),
		["Content-Type"] = "application/json",
	}
end

function request()
	n = n + 1
	local body = string.format(
		'{"program_id":"%s","email":"lead-%s-%d-%d@bench.example","name":"Bench Lead %d","company":"Company %d",'
			.. '"code":"%s"}',
		program, run, tid, n, n, n % 997, codes[n % #codes + 1])
	return wrk.format("POST", "/api/v1/leads", headers, body)
end
