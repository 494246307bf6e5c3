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

        // Fast path for the common full form (every Observation is dated); partial dates and anything unusual go through Firely.
        if (TryParseFullDateTime(s, out var fast))
        {
            return fast;
        }

        return dt!.TryToDateTimeOffset(TimeSpan.Zero, out var v) ? v : null;
    }

    /// <summary>Parses exactly yyyy-MM-ddTHH:mm:ss[.fraction](Z|+hh:mm|-hh:mm); false for any other shape.</summary>
    internal static bool TryParseFullDateTime(ReadOnlySpan<char> s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':'
            || !Digits(s[..4], out var year) || !Digits(s.Slice(5, 2), out var month) || !Digits(s.Slice(8, 2), out var day)
            || !Digits(s.Slice(11, 2), out var hour) || !Digits(s.Slice(14, 2), out var minute) || !Digits(s.Slice(17, 2), out var second))
        {
            return false;
        }

        var i = 19;
        long ticks = 0;
        var roundUp = 0;
        if (s[i] == '.')
        {
            var start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                if (i - start < 7)
                {
                    ticks = (ticks * 10) + (s[i] - '0');
                }
                else if (i - start == 7 && s[i] >= '5')
                {
                    roundUp = 1; // to the nearest tick, as Firely does
                }

                i++;
            }

            if (i == start)
            {
                return false;
            }

            for (var k = Math.Min(i - start, 7); k < 7; k++)
            {
                ticks *= 10;
            }

            ticks += roundUp;
        }

        TimeSpan offset;
        var rest = s[i..];
        if (rest is "Z")
        {
            offset = TimeSpan.Zero;
        }
        else if (rest.Length == 6 && rest[0] is '+' or '-' && rest[3] == ':' && Digits(rest.Slice(1, 2), out var oh) && Digits(rest.Slice(4, 2), out var om) && oh <= 14 && om < 60)
        {
            offset = new TimeSpan(oh, om, 0) * (rest[0] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(ticks);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
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
