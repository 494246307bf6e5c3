using System.Text.Json;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Core.FollowUp;

/// <summary>One scheduled kind of follow-up item (imaging, AFP, liver function tests).</summary>
public sealed record ScheduledItem(string Id, string What);

/// <summary>An upper (or lower) limit used when an Observation carries no reference range, in the unit it is written in.</summary>
public sealed record DefaultLimit(decimal Value, string Unit);

/// <summary>
/// The site's follow-up schedule and signal thresholds (protocol file, <c>followUp</c>): the trial text gives no visit calendar,
/// so these are site data a site changes without code (issue 17).
/// </summary>
public sealed record FollowUpSettings
{
    public int IntervalMonths { get; init; } = 3;
    public int DurationMonths { get; init; } = 24;
    public int WindowDays { get; init; } = 14;
    public IReadOnlyList<ScheduledItem> Items { get; init; } =
    [
        new("imaging", "contrast MRI or CT of the liver"),
        new("afp", "AFP"),
        new("lft", "liver function tests (bilirubin, ALT or AST)"),
    ];

    public int PreCycleDaysBefore { get; init; } = 3;
    public int CycleGapDays { get; init; } = 5;
    public IReadOnlyList<string> CycleDrugs { get; init; } = ["oxaliplatin", "fluorouracil", "leucovorin", "pd-1-inhibitor"];
    public int TherapyLookbackDays { get; init; } = 28;
    public int SignalLookbackDays { get; init; } = 14;
    public int PostOperativeDays { get; init; } = 90;

    public decimal AminotransferaseUlnMultiple { get; init; } = 5m;
    public decimal BilirubinUlnMultiple { get; init; } = 3m;
    public decimal NeutrophilsBelow { get; init; } = 1.0m;
    public decimal PlateletsBelow { get; init; } = 50m;
    public decimal SystolicAtLeast { get; init; } = 160m;
    public decimal DiastolicAtLeast { get; init; } = 100m;
    public decimal ProteinuriaGramsPerDayAtLeast { get; init; } = 2.0m;

    public DefaultLimit AltUln { get; init; } = new(40m, "U/L");
    public DefaultLimit AstUln { get; init; } = new(40m, "U/L");
    public DefaultLimit BilirubinUln { get; init; } = new(21m, "umol/L");
    public DefaultLimit TshLow { get; init; } = new(0.4m, "m[IU]/L");
    public DefaultLimit TshHigh { get; init; } = new(4.0m, "m[IU]/L");

    public static FollowUpSettings Default { get; } = new();

    /// <summary>The <c>followUp</c> section of the protocol file; absent → the defaults above. Bad values name the JSON path.</summary>
    public static FollowUpSettings Parse(string json, string file)
    {
        var r = new EligibilityData.JsonFields(file);
        using var doc = r.Parse(json);
        var root = r.Object(doc.RootElement, "$");
        if (!root.TryGetProperty("followUp", out var f) || f.ValueKind == JsonValueKind.Null)
        {
            return Default;
        }

        const string P = "$.followUp";
        r.Object(f, P);
        var items = new List<ScheduledItem>();
        var itemsElement = r.Prop(f, P, "items");
        if (itemsElement.ValueKind != JsonValueKind.Array)
        {
            throw new EligibilityDataException(file, P + ".items", "must be an array");
        }

        var i = 0;
        foreach (var item in itemsElement.EnumerateArray())
        {
            var path = $"{P}.items[{i++}]";
            var id = r.String(r.Object(item, path), path, "id");
            if (id is not ("imaging" or "afp" or "lft"))
            {
                throw new EligibilityDataException(file, path + ".id", $"'{id}' is not a known follow-up item (imaging, afp, lft)");
            }

            items.Add(new ScheduledItem(id, r.String(item, path, "what")));
        }

        var cycles = r.Object(r.Prop(f, P, "preCycleLabs"), P + ".preCycleLabs");
        var post = r.Object(r.Prop(f, P, "postOperative"), P + ".postOperative");
        var s = r.Object(r.Prop(f, P, "signals"), P + ".signals");
        var uln = r.Object(r.Prop(f, P, "defaultUln"), P + ".defaultUln");
        DefaultLimit Limit(string name)
        {
            var path = $"{P}.defaultUln.{name}";
            var o = r.Object(r.Prop(uln, P + ".defaultUln", name), path);
            return new DefaultLimit(r.Decimal(o, path, "value", 0.001m, 100_000m), r.String(o, path, "unit"));
        }

        var cycleDrugs = r.StringArray(cycles, P + ".preCycleLabs", "cycleDrugs");
        return new FollowUpSettings
        {
            IntervalMonths = r.Int(f, P, "intervalMonths", 1, 24),
            DurationMonths = r.Int(f, P, "durationMonths", 1, 120),
            WindowDays = r.Int(f, P, "windowDays", 0, 45),
            Items = items,
            PreCycleDaysBefore = r.Int(cycles, P + ".preCycleLabs", "daysBefore", 0, 14),
            CycleGapDays = r.Int(cycles, P + ".preCycleLabs", "cycleGapDays", 1, 28),
            CycleDrugs = cycleDrugs,
            TherapyLookbackDays = r.Int(f, P, "therapyLookbackDays", 1, 365),
            SignalLookbackDays = r.Int(f, P, "signalLookbackDays", 1, 90),
            PostOperativeDays = r.Int(post, P + ".postOperative", "days", 1, 365),
            AminotransferaseUlnMultiple = r.Decimal(s, P + ".signals", "aminotransferaseUlnMultiple", 1m, 50m),
            BilirubinUlnMultiple = r.Decimal(s, P + ".signals", "bilirubinUlnMultiple", 1m, 50m),
            NeutrophilsBelow = r.Decimal(s, P + ".signals", "neutrophilsBelow", 0.01m, 10m),
            PlateletsBelow = r.Decimal(s, P + ".signals", "plateletsBelow", 1m, 500m),
            SystolicAtLeast = r.Decimal(s, P + ".signals", "systolicAtLeast", 100m, 300m),
            DiastolicAtLeast = r.Decimal(s, P + ".signals", "diastolicAtLeast", 50m, 200m),
            ProteinuriaGramsPerDayAtLeast = r.Decimal(s, P + ".signals", "proteinuriaGramsPerDayAtLeast", 0.1m, 20m),
            AltUln = Limit("alt"),
            AstUln = Limit("ast"),
            BilirubinUln = Limit("bilirubin"),
            TshLow = Limit("tshLow"),
            TshHigh = Limit("tshHigh"),
        };
    }
}
