-- KEYS[1] = the level's ledger hash, KEYS[2] = its leases hash. What a holder's leased calls did since its last
-- report: ARGV[2] = holder, [3] = spend to add, [4] = reservation to release (also taken off the holder's
-- lease), [5] = tokens to count, [6] = unused rpm slots and [7] = unused tpm tokens to give back when [8] (the
-- minute they were leased in) is still the current one, [9] = the holder's new lease end (0 = keep it);
-- level from ARGV[10]. A release never exceeds what the holder's lease still holds: a lease reclaimed as a
-- dead process's (its report came too late) gives nothing back twice.
local holder = ARGV[2]
local spend, release, tokens = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local rpm_back, tpm_back, lease_minute, expires = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),
  tonumber(ARGV[9])
local held, ends = 0, 0
local prior = redis.call('HGET', KEYS[2], holder)
if prior then held, ends = lease_entry(prior) end
release = math.min(release, held)
local rec = refresh(KEYS[1], level_args(1, 10))
rec.spent = rec.spent + spend
rec.reserved = math.max(0, rec.reserved - release)
if lease_minute == minute then
  if rec.rpm_win == minute then rec.rpm_n = math.max(0, rec.rpm_n - rpm_back) end
  if rec.tpm_win == minute then rec.tpm_n = math.max(0, rec.tpm_n - tpm_back) end
end
roll(rec, 'tpm')
rec.tpm_n = rec.tpm_n + tokens
rec.par_ts = now
save(KEYS[1], rec)
if prior then
  held = held - release
  if expires > 0 then ends = expires end
  if held > 0 then
    keep_lease(KEYS[2], holder, held, ends)
  else
    redis.call('HDEL', KEYS[2], holder)
  end
end
return 1
