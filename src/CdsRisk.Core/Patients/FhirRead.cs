using System.Globalization;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.Patients;

/// <summary>Small readers over Firely POCOs shared by the snapshot and the order-select checks.</summary>
internal static class FhirRead
{
    public const string UcumSystem = "http://unitsofmeasure.org";

    public static string Ref(Resource r) => $"{r.TypeName}/{r.Id ?? "(no id)"}";

    public static DateTimeOffset? Date(DataType? value) => value switch
    {
        FhirDateTime dt => Parse(dt),
        Instant i => i.Value,
        Period p => Parse(p.StartElement) ?? Parse(p.EndElement),
        Date d => d.TryToDateTimeOffset(out var v) ? v : null,
        _ => null,
    };

    public static DateTimeOffset? Parse(FhirDateTime? dt)
    {
        var s = dt?.Value;
        if (s is null)
        {
            return null;
        }

        // Fast path for the common full form with an offset (yyyy-MM-ddTHH:mm:ss[.fff](Z|+hh:mm)); partial dates go through Firely.
        if (s.Length >= 20 && s[10] == 'T' && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.None, out var fast))
        {
            return fast;
        }

        return dt!.TryToDateTimeOffset(TimeSpan.Zero, out var v) ? v : null;
    }

    public static DateTimeOffset? ParseString(string? value) => value is null ? null : Parse(new FhirDateTime(value));

    public static DateTimeOffset? EffectiveDate(Observation o) => Date(o.Effective) ?? o.Issued;

    /// <summary>Observations that carry a result (R4 ObservationStatus: registered has none; cancelled and entered-in-error are void).</summary>
    public static bool IsUsable(Observation o) =>
        o.Status is not (ObservationStatus.EnteredInError or ObservationStatus.Cancelled or ObservationStatus.Registered)
        && o.DataAbsentReason is null;

    public static string? StatusCode(CodeableConcept? concept) =>
        concept?.Coding.FirstOrDefault(c => c.Code is not null)?.Code;

    /// <summary>Refuted or entered-in-error conditions are not facts about the patient.</summary>
    public static bool IsRecorded(Condition c) => StatusCode(c.VerificationStatus) is not ("refuted" or "entered-in-error");

    public static bool IsActive(Condition c) =>
        IsRecorded(c) && StatusCode(c.ClinicalStatus) is null or "active" or "recurrence" or "relapse";

    public static bool IsConfirmedOrUnqualified(Condition c) => StatusCode(c.VerificationStatus) is null or "confirmed";

    public static bool IsRecorded(AllergyIntolerance a) =>
        StatusCode(a.VerificationStatus) is not ("refuted" or "entered-in-error")
        && StatusCode(a.ClinicalStatus) is not ("inactive" or "resolved");

    public static string Display(CodeableConcept? c) =>
        c is null ? "(no code)"
        : !string.IsNullOrWhiteSpace(c.Text) ? c.Text
        : c.Coding.FirstOrDefault(x => !string.IsNullOrWhiteSpace(x.Display))?.Display
          ?? c.Coding.FirstOrDefault(x => x.Code is not null)?.Code
          ?? "(no code)";

    /// <summary>Calendar days from one date to a later one, each on its own clock: windows such as "within 30 days" count dates, not hours.</summary>
    public static int DaysBetween(DateTimeOffset earlier, DateTimeOffset later) =>
        DateOnly.FromDateTime(later.DateTime).DayNumber - DateOnly.FromDateTime(earlier.DateTime).DayNumber;

    public static string Day(DateTimeOffset d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Num(decimal v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
