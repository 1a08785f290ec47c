-- ARGV[2] = amount to reserve; levels from ARGV[3]. Returns {1, reserved, clipped marks} or
-- {0, level index (0-based), reason, spend, limit, retry_after}.
local amount = tonumber(ARGV[2])
local reserve = amount
local recs = {}
local marks = {}
for i, key in ipairs(KEYS) do
  local lvl = level_args(i, 3)
  local rec = refresh(key, lvl)
  recs[i] = rec
  if lvl.budget >= 0 and (rec.spent + rec.reserved >= lvl.budget or rec.clipped > 0) then
    return {0, i - 1, 'budget', rec.spent + rec.reserved, lvl.budget, 0}
  end
  if lvl.rpm >= 0 and rec.rpm_win == minute and rec.rpm_n >= lvl.rpm then
    return {0, i - 1, 'rpm', rec.rpm_n, lvl.rpm, retry_after()}
  end
  if lvl.tpm >= 0 and rec.tpm_win == minute and rec.tpm_n >= lvl.tpm then
    return {0, i - 1, 'tpm', rec.tpm_n, lvl.tpm, retry_after()}
  end
  if lvl.par >= 0 and rec.par >= lvl.par then
    return {0, i - 1, 'parallel', rec.par, lvl.par, 1}
  end
  local remaining = amount
  if lvl.budget >= 0 then remaining = lvl.budget - rec.spent - rec.reserved end
  reserve = math.min(reserve, remaining)
  if remaining < amount then marks[i] = '1' else marks[i] = '0' end
end
for i, key in ipairs(KEYS) do
  local rec = recs[i]
  rec.reserved = rec.reserved + reserve
  if marks[i] == '1' then rec.clipped = rec.clipped + 1 end
  roll(rec, 'rpm')
  rec.rpm_n = rec.rpm_n + 1
  rec.par = rec.par + 1
  rec.par_ts = now
  save(key, rec)
end
return {1, reserve, table.concat(marks)}
