namespace CdsRisk.Core.WriteBack;

/// <summary>Canonical URLs, code systems and fixed codes of the resources we write; the profiles in fhir-profiles/ fix the same values.</summary>
public static class FhirCodes
{
    public const string Base = "https://cdsrisk.example.org/fhir";

    public const string RiskAssessmentProfile = Base + "/StructureDefinition/cdsrisk-risk-assessment";
    public const string ProvenanceProfile = Base + "/StructureDefinition/cdsrisk-ai-provenance";
    public const string DeviceProfile = Base + "/StructureDefinition/cdsrisk-ai-device";
    public const string ModelCardExtension = Base + "/StructureDefinition/model-card";

    public const string RiskAssessmentIdSystem = Base + "/risk-assessment-id";
    public const string DeviceIdSystem = Base + "/model-device-id";
    public const string ModelSystem = Base + "/CodeSystem/pre-model";
    public const string OutcomeSystem = Base + "/CodeSystem/outcome";
    public const string AggressiveRecurrenceCode = "aggressive-recurrence-2y";
    public const string AggressiveRecurrenceDisplay = "Aggressive recurrence (first recurrence beyond the Milan criteria) within 2 years of liver resection";

    public const string Snomed = "http://snomed.info/sct";
    public const string RiskAssessmentCode = "709510001";
    public const string RiskAssessmentDisplay = "Assessment of risk for disease";

    public const string RiskProbabilitySystem = "http://terminology.hl7.org/CodeSystem/risk-probability";
    public const string Ucum = "http://unitsofmeasure.org";

    /// <summary>AI Transparency on FHIR (1.0.0 ballot): Device.type code for any AI system.</summary>
    public const string AiDeviceTypeSystem = "http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS";
    public const string AiDeviceTypeCode = "Artificial-Intelligence";

    public const string ObservationValueSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
    public const string AiAssertedCode = "AIAST";
    public const string AiAssertedDisplay = "artificial intelligence asserted";

    public const string ParticipantTypeSystem = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
    public const string DataOperationSystem = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
    public const string DicomUidSystem = "urn:dicom:uid";
    public const string UriSystem = "urn:ietf:rfc:3986";

    /// <summary>meta.tag of resources computed by a model whose card says it is not for clinical use.</summary>
    public const string ModelUseSystem = Base + "/CodeSystem/model-use";
    public const string NotForClinicalUseCode = "not-for-clinical-use";
    public const string NotForClinicalUseDisplay = "Computed by a reference model trained on synthetic data: not for clinical use";

    public const string ReferenceModelNote = "Reference model: trained on synthetic data only. Not for clinical use.";
}
