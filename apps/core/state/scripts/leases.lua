-- A holder's entry in a level's leases hash: "<nanodollars held> <lease end, epoch seconds>".
local function lease_entry(text)
  local held, ends = string.match(text, '^(%d+) ([%d%.]+)$')
  return tonumber(held), tonumber(ends)
end

local function keep_lease(key, holder, held, ends)
  redis.call('HSET', key, holder, string.format('%d %.6f', held, ends))
  redis.call('EXPIRE', key, LEASES_TTL)
end
