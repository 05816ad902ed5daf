-- wrk script: cycles through search queries of different shapes (one letter, a first name, a full name,
-- an exact email, a company word, a domain) with the API key from the environment.
local key = os.getenv("REFD_KEY")
local mode = os.getenv("MODE") or "search"
local queries = { "m", "ma", "maria", "maria%20lopez", "lopez%20consulting", "zanele", "nguyen",
  "maria.lopez17008%40example.com", "example.com", "priya%20patel", "kofi", "sch" }
local i = 0
request = function()
  i = i + 1
  local path
  if mode == "search" then
    path = "/api/v1/partners?limit=20&q=" .. queries[(i % #queries) + 1]
  elseif mode == "list" then
    path = "/api/v1/partners?limit=20"
  else
    path = "/healthz"
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
