-- Argo CD health of classic.cloudservices.io/CloudServiceDeployment.
--
-- Reads only what the controller publishes in status: observedGeneration, phase,
-- domainProgress, plan and the kstatus conditions Ready / Reconciling / Stalled.
-- Written for Argo's closed Lua sandbox (custom health checks run without the standard
-- libraries: base functions, `table` and a reduced `os` only), so no `string` or `math`:
-- text is built with `..` and table.concat.
--
-- Order matters, first match wins:
--   no status yet / observedGeneration behind metadata.generation -> Progressing
--   Stalled=True or phase Failed                                  -> Degraded
--   phase Suspended                                               -> Suspended
--   phase Observing (reconcilePolicy Observe)                     -> Healthy, with the plan
--   phase Pending/Upgrading/WalkingDomains/Reimaging/RollingBack,
--     or Reconciling=True                                         -> Progressing
--   Ready=True                                                    -> Healthy
--   anything else                                                 -> Progressing

local BUSY_PHASES = {
  Pending = true,
  Upgrading = true,
  WalkingDomains = true,
  Reimaging = true,
  RollingBack = true,
}

local function findCondition(status, conditionType)
  if status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(status.conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

local function isTrue(condition)
  return condition ~= nil and condition.status == "True"
end

local function present(text)
  return text ~= nil and text ~= ""
end

-- "Reason: message", or whichever of the two is there, or the fallback.
local function describe(condition, fallback)
  if condition ~= nil then
    if present(condition.reason) and present(condition.message) then
      return condition.reason .. ": " .. condition.message
    end
    if present(condition.message) then
      return condition.message
    end
    if present(condition.reason) then
      return condition.reason
    end
  end
  return fallback
end

local hs = {}
local status = obj.status

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe the resource"
  return hs
end

-- tonumber: the values are numbers, but be lenient with a controller writing strings.
local observed = tonumber(status.observedGeneration)
local generation = tonumber(obj.metadata.generation)
if observed ~= nil and generation ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. generation
    .. " (observed " .. observed .. ")"
  return hs
end

local phase = status.phase
local ready = findCondition(status, "Ready")
local reconciling = findCondition(status, "Reconciling")
local stalled = findCondition(status, "Stalled")

if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled: the controller cannot proceed without a change")
  return hs
end

if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = describe(ready, "The last operation failed")
  return hs
end

if phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = "Suspended by spec.suspend: no remote writes, the deployment is still observed"
  return hs
end

if phase == "Observing" then
  hs.status = "Healthy"
  local prefix = "Observe policy, no remote writes: "
  if status.plan ~= nil and #status.plan > 0 then
    hs.message = prefix .. #status.plan .. " planned operation(s): " .. table.concat(status.plan, "; ")
  else
    hs.message = prefix .. "in sync, nothing planned"
  end
  return hs
end

if BUSY_PHASES[phase] then
  hs.status = "Progressing"
  local message = phase
  if present(status.domainProgress) and status.domainProgress ~= "-" then
    message = message .. " (upgrade domain " .. status.domainProgress .. ")"
  end
  local detail = describe(reconciling, nil)
  if isTrue(reconciling) and detail ~= nil then
    message = message .. ": " .. detail
  end
  hs.message = message
  return hs
end

-- Reconciling in a quiet phase: for example drift found, the next operation not issued yet.
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
