-- SPDX-License-Identifier: Apache-2.0
-- Sends each wrk thread to one of the ports in PORTS (comma-separated), in turn: with -t2 and two ports, half the
-- connections go to each refd process. Only setup is scripted, so wrk still sends its one prepared request as fast
-- as without a script, and one wrk reports one rate and one latency histogram for the pair.
local ports = {}
for p in string.gmatch(os.getenv("PORTS") or "", "%d+") do
	ports[#ports + 1] = p
end
local n = 0

function setup(thread)
	if #ports == 0 then
		error("PORTS names no port")
	end
	thread.addr = wrk.lookup("127.0.0.1", ports[n % #ports + 1])[1]
	n = n + 1
end
