using System.Globalization;
using System.Text.RegularExpressions;
using CdsRisk.Core.Cards;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.WriteBack;

/// <summary>
/// The three resources that record a PRE score in the EHR: the model as an AI Device, the RiskAssessment, and the
/// Provenance that marks it as AI-asserted (AI Transparency on FHIR). Pure and deterministic: the same input gives
/// the same identifiers, so conditional create makes retries and repeated hooks harmless.
/// </summary>
public static partial class WriteBackResources
{
    public static Identifier DeviceIdentifier(ModelIdentity model)
    {
        ValidateModel(model);
        return new Identifier(FhirCodes.DeviceIdSystem, model.Sha256);
    }

    /// <summary>
    /// system risk-assessment-id, value SHA-256 of FHIR server + patient + study uid + model hash: one RiskAssessment per
    /// (server, patient, study, model). A later assessment of the same study (new clinical values) updates it in place
    /// (conditional update), so a search finds exactly one current RiskAssessment; earlier ones stay in its history.
    /// </summary>
    public static Identifier RiskAssessmentIdentifier(AssessmentInput input)
    {
        Validate(input);
        return new Identifier(FhirCodes.RiskAssessmentIdSystem,
            RiskAssessmentIdentifierValue(input.FhirServer, input.PatientReference, input.StudyInstanceUid, input.Model.Sha256));
    }

    /// <summary>The identifier value of <see cref="RiskAssessmentIdentifier"/> from its four parts (also the outbox item's id).</summary>
    public static string RiskAssessmentIdentifierValue(string? fhirServer, string patientReference, string studyInstanceUid, string modelSha256) =>
        Sha256Hex(string.Join('\n', fhirServer ?? "", patientReference, studyInstanceUid, modelSha256));

    /// <summary>
    /// Provenance has no identifier in R4, so it is written with PUT on this id (idempotent) rather than conditional create. One per
    /// version of the RiskAssessment: the clinical-feature hash and the PRE are part of it.
    /// </summary>
    public static string ProvenanceId(AssessmentInput input) =>
        "cdsrisk-" + Sha256Hex(string.Join('\n', RiskAssessmentIdentifier(input).Value, input.ClinicalFeatureHash,
            input.Pre.ToString("R", CultureInfo.InvariantCulture)))[..40];

    public static Device ModelDevice(ModelIdentity model)
    {
        var device = new Device
        {
            Meta = new Meta { Profile = [FhirCodes.DeviceProfile] },
            Identifier = [DeviceIdentifier(model)],
            Status = Device.FHIRDeviceStatus.Active,
            DeviceName = [new Device.DeviceNameComponent { Name = model.Id, Type = DeviceNameType.ModelName }],
            Type = Concept(FhirCodes.AiDeviceTypeSystem, FhirCodes.AiDeviceTypeCode, "Artificial Intelligence"),
            Version = [new Device.VersionComponent { Value = model.Version }],
        };
        if (model.ModelCardUrl is { } url)
        {
            device.Extension.Add(new Extension(FhirCodes.ModelCardExtension, new FhirUrl(url)));
        }

        if (model.IsReferenceModel)
        {
            device.Note = [new Annotation { Text = FhirCodes.ReferenceModelNote }];
        }

        return device;
    }

    public static RiskAssessment RiskAssessment(AssessmentInput input, string deviceReference)
    {
        Validate(input);
        RequireReference(deviceReference, nameof(deviceReference));
        var high = input.Pre >= input.Threshold;
        var assessment = new RiskAssessment
        {
            // A reference model's score is not a clinical finding: status preliminary and a tag that says why, machine-readably.
            Meta = new Meta
            {
                Profile = [FhirCodes.RiskAssessmentProfile],
                Tag = input.Model.IsReferenceModel ? [new Coding(FhirCodes.ModelUseSystem, FhirCodes.NotForClinicalUseCode, FhirCodes.NotForClinicalUseDisplay)] : [],
            },
            Identifier = [RiskAssessmentIdentifier(input)],
            Status = input.Model.IsReferenceModel ? ObservationStatus.Preliminary : ObservationStatus.Final,
            Method = new CodeableConcept
            {
                Coding = [new Coding(FhirCodes.ModelSystem, input.Model.Id, $"{input.Model.Id} {input.Model.Version}") { Version = input.Model.Version }],
                Text = $"{input.Model.Id} version {input.Model.Version}",
            },
            Code = Concept(FhirCodes.Snomed, FhirCodes.RiskAssessmentCode, FhirCodes.RiskAssessmentDisplay),
            Subject = new ResourceReference(input.PatientReference),
            Encounter = input.EncounterReference is { } enc ? new ResourceReference(enc) : null,
            Condition = input.ConditionReference is { } cond ? new ResourceReference(cond) : null,
            Occurrence = new FhirDateTime(input.Occurrence),
            Performer = new ResourceReference(deviceReference, $"{input.Model.Id} {input.Model.Version}"),
            Basis = [ImagingStudy(input), .. input.ObservationReferences.Select(o => new ResourceReference(o))],
            Prediction =
            [
                new RiskAssessment.PredictionComponent
                {
                    Outcome = Concept(FhirCodes.OutcomeSystem, FhirCodes.AggressiveRecurrenceCode, FhirCodes.AggressiveRecurrenceDisplay),
                    Probability = new FhirDecimal(Math.Round((decimal)input.Pre, 6)),
                    QualitativeRisk = high
                        ? Concept(FhirCodes.RiskProbabilitySystem, "high", "High likelihood")
                        : Concept(FhirCodes.RiskProbabilitySystem, "low", "Low likelihood"),
                    When = new Hl7.Fhir.Model.Range { Low = Years(0), High = Years(2) },
                },
            ],
            Note = Notes(input, high),
        };
        return assessment;
    }

    public static Provenance Provenance(AssessmentInput input, string riskAssessmentReference, string deviceReference)
    {
        Validate(input);
        RequireReference(riskAssessmentReference, nameof(riskAssessmentReference));
        RequireReference(deviceReference, nameof(deviceReference));
        var entities = new List<Provenance.EntityComponent>();
        if (input.Model.ModelCardUrl is { } url)
        {
            entities.Add(Derivation(new ResourceReference
            {
                Identifier = new Identifier(FhirCodes.UriSystem, url),
                Display = $"Model card of {input.Model.Id} {input.Model.Version}",
            }));
        }

        entities.Add(Derivation(ImagingStudy(input)));
        entities.AddRange(input.ObservationReferences.Select(o => Derivation(new ResourceReference(o))));

        return new Provenance
        {
            Id = ProvenanceId(input),
            Meta = new Meta { Profile = [FhirCodes.ProvenanceProfile] },
            Target = [new ResourceReference(riskAssessmentReference)],
            Occurred = new FhirDateTime(input.Occurrence),
            Recorded = input.Occurrence,
            Reason = [Concept(FhirCodes.ObservationValueSystem, FhirCodes.AiAssertedCode, FhirCodes.AiAssertedDisplay)],
            Activity = Concept(FhirCodes.DataOperationSystem, "CREATE", "create"),
            Agent =
            [
                new Provenance.AgentComponent
                {
                    Type = Concept(FhirCodes.ParticipantTypeSystem, "author", "Author"),
                    Who = new ResourceReference(deviceReference, $"{input.Model.Id} {input.Model.Version}"),
                },
            ],
            Entity = entities,
        };
    }

    private static CodeableConcept Concept(string system, string code, string display) =>
        new() { Coding = [new Coding(system, code, display)] };

    private static Provenance.EntityComponent Derivation(ResourceReference what) =>
        new() { Role = Hl7.Fhir.Model.Provenance.ProvenanceEntityRole.Derivation, What = what };

    /// <summary>The scored MRI: the FHIR ImagingStudy when known, otherwise a logical reference by StudyInstanceUID.</summary>
    private static ResourceReference ImagingStudy(AssessmentInput input) =>
        input.ImagingStudyReference is { } study
            ? new ResourceReference(study)
            : new ResourceReference
            {
                Type = "ImagingStudy",
                Identifier = new Identifier(FhirCodes.DicomUidSystem, "urn:oid:" + input.StudyInstanceUid),
            };

    private static List<Annotation> Notes(AssessmentInput input, bool high)
    {
        var threshold = input.Threshold.ToString("0.00", CultureInfo.InvariantCulture);
        var pre = input.Pre.ToString("0.000", CultureInfo.InvariantCulture);
        var notes = new List<Annotation>
        {
            new()
            {
                Text = high
                    ? $"Threshold {threshold} (NCT07282184 protocol): PRE {pre} is at or above it, high risk of aggressive recurrence."
                    : $"Threshold {threshold} (NCT07282184 protocol): PRE {pre} is below it, low risk of aggressive recurrence.",
            },
        };
        if (input.ImputedFeatures.Count > 0)
        {
            notes.Add(new Annotation { Text = "Imputed with the training mean (value missing): " + string.Join(", ", input.ImputedFeatures) + "." });
        }

        if (input.MissingData.Count > 0)
        {
            notes.Add(new Annotation { Text = "Missing: " + string.Join("; ", input.MissingData) + "." });
        }

        if (input.Model.IsReferenceModel)
        {
            notes.Add(new Annotation { Text = FhirCodes.ReferenceModelNote });
        }

        return notes;
    }

    private static Quantity Years(decimal value) =>
        new() { Value = value, Unit = "years", System = FhirCodes.Ucum, Code = "a" };

    private static void ValidateModel(ModelIdentity model)
    {
        if (CardBuilder.ModelProblem(model) is { } problem)
        {
            throw new AssessmentInputException(problem);
        }
    }

    private static void Validate(AssessmentInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        RequireReference(input.PatientReference, nameof(input.PatientReference));
        ValidateModel(input.Model);
        if (!(input.Pre >= 0 && input.Pre <= 1))
        {
            throw new AssessmentInputException($"Pre: must lie in [0, 1], got {input.Pre}.");
        }

        if (!(input.Threshold > 0 && input.Threshold < 1))
        {
            throw new AssessmentInputException($"Threshold: must lie strictly between 0 and 1, got {input.Threshold}.");
        }

        if (input.Occurrence == default)
        {
            throw new AssessmentInputException("Occurrence: required.");
        }

        if (input.StudyInstanceUid is null || input.StudyInstanceUid.Length > 64 || !DicomUid().IsMatch(input.StudyInstanceUid))
        {
            throw new AssessmentInputException("StudyInstanceUid: expected a DICOM UID (digits and dots, at most 64 characters).");
        }

        if (input.ClinicalFeatureHash is null || input.ClinicalFeatureHash.Length != 64 || !input.ClinicalFeatureHash.All(char.IsAsciiHexDigitLower))
        {
            throw new AssessmentInputException("ClinicalFeatureHash: expected 64 lower-case hex digits (ScoreCacheKey.HashClinicalFeatures).");
        }

        if (input.EncounterReference is { } enc)
        {
            RequireReference(enc, nameof(input.EncounterReference));
        }

        if (input.ConditionReference is { } cond)
        {
            RequireReference(cond, nameof(input.ConditionReference));
        }

        if (input.ImagingStudyReference is { } study)
        {
            RequireReference(study, nameof(input.ImagingStudyReference));
        }

        foreach (var o in input.ObservationReferences)
        {
            RequireReference(o, nameof(input.ObservationReferences));
        }
    }

    private static void RequireReference(string? reference, string name)
    {
        if (string.IsNullOrWhiteSpace(reference) || reference.Any(char.IsWhiteSpace))
        {
            throw new AssessmentInputException($"{name}: expected a reference such as \"Type/id\" or \"urn:uuid:…\".");
        }
    }

    [GeneratedRegex("^(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))+$")]
    private static partial Regex DicomUid();

    private static string Sha256Hex(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
