-- Shared by admit and settle: mirror of apps/core/state/ledger.py (keep the two in step).
-- KEYS: one hash per level. ARGV[1] = now; per level, from ARGV[base]: max_budget (-1 = none),
-- seed spend, window end (0 = none), rpm limit, tpm limit, max parallel (-1 = none).
local STALE = 900
local FIELDS = {'spent', 'reserved', 'wend', 'rpm_win', 'rpm_n', 'tpm_win', 'tpm_n', 'par', 'par_ts', 'clipped'}
local now = tonumber(ARGV[1])
local minute = math.floor(now / 60)

local function level_args(i, base)
  local at = base + (i - 1) * 6
  return {budget = tonumber(ARGV[at]), seed = tonumber(ARGV[at + 1]), wend = tonumber(ARGV[at + 2]),
          rpm = tonumber(ARGV[at + 3]), tpm = tonumber(ARGV[at + 4]), par = tonumber(ARGV[at + 5])}
end

local function refresh(key, lvl)
  local raw = redis.call('HMGET', key, unpack(FIELDS))
  local rec = {}
  if raw[3] == false then
    rec = {spent = lvl.seed, reserved = 0, wend = lvl.wend, rpm_win = 0, rpm_n = 0, tpm_win = 0, tpm_n = 0,
           par = 0, par_ts = now, clipped = 0}
  else
    for i, name in ipairs(FIELDS) do rec[name] = tonumber(raw[i]) or 0 end
    if rec.wend ~= 0 and rec.wend <= now then
      rec.spent = 0
      rec.wend = lvl.wend
    elseif rec.wend ~= lvl.wend then
      rec.wend = lvl.wend
    end
  end
  if now - rec.par_ts > STALE then
    rec.par = 0
    rec.reserved = 0
    rec.clipped = 0
  end
  return rec
end

local function save(key, rec)
  redis.call('HSET', key, 'spent', string.format('%d', rec.spent), 'reserved', string.format('%d', rec.reserved),
             'wend', string.format('%.6f', rec.wend), 'rpm_win', string.format('%d', rec.rpm_win),
             'rpm_n', string.format('%d', rec.rpm_n), 'tpm_win', string.format('%d', rec.tpm_win),
             'tpm_n', string.format('%d', rec.tpm_n), 'par', string.format('%d', rec.par),
             'par_ts', string.format('%.6f', rec.par_ts), 'clipped', string.format('%d', rec.clipped))
end

-- Start the record's 'rpm' or 'tpm' count afresh when its minute has passed.
local function roll(rec, count)
  if rec[count .. '_win'] ~= minute then
    rec[count .. '_win'] = minute
    rec[count .. '_n'] = 0
  end
end

local function retry_after()
  return math.max(1, math.ceil(60 - now % 60))
end
