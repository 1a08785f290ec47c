-- KEYS[1..LEVELS] = the levels' ledgers (the prefix sets LEVELS). ARGV[2] = reserved, ARGV[3] = actual cost, ARGV[4] = tokens, ARGV[5] = clipped marks; levels from ARGV[6].
local reserved = tonumber(ARGV[2])
local actual = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local clipped = ARGV[5]
for i = 1, LEVELS do
  local key = KEYS[i]
  local rec = refresh(key, level_args(i, 6))
  rec.reserved = math.max(0, rec.reserved - reserved)
  if string.sub(clipped, i, i) == '1' then rec.clipped = math.max(0, rec.clipped - 1) end
  rec.spent = rec.spent + actual
  roll(rec, 'tpm')
  rec.tpm_n = rec.tpm_n + tokens
  rec.par = math.max(0, rec.par - 1)
  rec.par_ts = now
  save(key, rec)
end
return 1
