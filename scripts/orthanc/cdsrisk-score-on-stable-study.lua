-- CdsRisk: ask the screening service to score a study as soon as Orthanc considers it complete ("stable": no new instance for
-- StableAge seconds), so that the first chart open already finds the PRE score instead of "pending" (issue 15 item 4).
--
-- Orthanc configuration (orthanc.json):
--   "LuaScripts": [ "/path/to/cdsrisk-score-on-stable-study.lua" ],
--   "StableAge": 60,                        -- seconds without a new instance before a study is stable
--   "CdsRisk": {
--     "ScoringJobsUrl": "https://cdsrisk.example.org/api/scoring-jobs",
--     "ApiKey": "<the key whose SHA-256 is Scoring:Clients:N:ApiKeySha256 on the service>"
--   }
-- The service resolves the FHIR Patient from the DICOM PatientID (Patient?identifier=<Scoring:Clients:N:PatientIdentifierSystem>|<PatientID>)
-- and keeps a study whose patient it cannot resolve as a failed job with the reason (GET /api/scoring-jobs/{id}).

local function cdsriskSettings()
   local config = GetOrthancConfiguration()
   local settings = config['CdsRisk']
   if settings == nil or settings['ScoringJobsUrl'] == nil or settings['ApiKey'] == nil then
      return nil
   end
   return settings
end

function OnStableStudy(studyId, tags, metadata)
   local settings = cdsriskSettings()
   if settings == nil then
      print('CdsRisk: no CdsRisk.ScoringJobsUrl / CdsRisk.ApiKey in the Orthanc configuration; study not sent for scoring')
      return
   end

   -- The study's own tags, and its patient's (PatientID is a patient-level tag in Orthanc's model).
   local study = ParseJson(RestApiGet('/studies/' .. studyId))
   local patientId = study['PatientMainDicomTags'] and study['PatientMainDicomTags']['PatientID'] or tags['PatientID']
   local studyUid = study['MainDicomTags'] and study['MainDicomTags']['StudyInstanceUID'] or tags['StudyInstanceUID']
   if patientId == nil or patientId == '' or studyUid == nil then
      print('CdsRisk: study ' .. studyId .. ' has no PatientID or StudyInstanceUID; not sent for scoring')
      return
   end

   local body = DumpJson({ dicomPatientId = patientId, studyInstanceUid = studyUid }, true)
   local headers = {
      ['Content-Type'] = 'application/json',
      ['Authorization'] = 'ApiKey ' .. settings['ApiKey'],
   }
   -- HttpPost returns nil when the service cannot be reached or answers with an error; Orthanc logs the HTTP error itself.
   -- The Orthanc study id is logged, never the PatientID.
   local answer = HttpPost(settings['ScoringJobsUrl'], body, headers)
   if answer == nil then
      print('CdsRisk: scoring request for study ' .. studyId .. ' failed')
   else
      print('CdsRisk: scoring requested for study ' .. studyId)
   end
end
