using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>The demo's check of an on-study scenario: what the follow-up cards and their <c>followUp</c> extension must show.</summary>
public static class FollowUpCheck
{
    /// <summary>Each way the answer differs from <paramref name="expected"/> (expected.json <c>expectedFollowUp</c>); empty: as designed.</summary>
    public static IReadOnlyList<string> Problems(JsonObject expected, IReadOnlyList<JsonObject> cards)
    {
        static List<string> Strings(JsonNode? node) => [.. (node as JsonArray ?? []).Select(n => (string?)n ?? "")];
        static string Listed(IEnumerable<string> ids) => string.Join(",", ids) is { Length: > 0 } text ? text : "none";
        var problems = new List<string>();
        var kinds = cards.Select(c => (string?)c["extension"]?["cdsrisk"]?["card"] ?? "?").ToList();
        if (!kinds.SequenceEqual(Strings(expected["cards"])))
        {
            problems.Add($"cards {string.Join(",", kinds)}, expected {string.Join(",", Strings(expected["cards"]))}");
        }

        if (cards.Select(c => c["extension"]?["cdsrisk"]?["followUp"]).OfType<JsonObject>().FirstOrDefault() is not { } followUp)
        {
            problems.Add("no followUp extension");
            return problems;
        }

        var items = (followUp["items"] as JsonArray ?? []).OfType<JsonObject>().ToDictionary(i => (string?)i["id"] ?? "", i => (string?)i["status"] ?? "", StringComparer.Ordinal);
        var overdue = items.Where(i => i.Value == "overdue").Select(i => i.Key).Order(StringComparer.Ordinal).ToList();
        if (!overdue.SequenceEqual(Strings(expected["overdue"]).Order(StringComparer.Ordinal)))
        {
            problems.Add($"overdue {Listed(overdue)}, expected {Listed(Strings(expected["overdue"]))}");
        }

        foreach (var id in Strings(expected["done"]).Where(id => !items.TryGetValue(id, out var status) || status != "done"))
        {
            problems.Add($"{id} is {(items.TryGetValue(id, out var status) ? status : "absent")}, expected done");
        }

        var signals = (followUp["signals"] as JsonArray ?? []).Select(n => (string?)n?["id"] ?? "").ToList();
        if (!signals.SequenceEqual(Strings(expected["signals"])))
        {
            problems.Add($"signals {Listed(signals)}, expected {Listed(Strings(expected["signals"]))}");
        }

        // A grade >= 3 signal comes with a suggestion that creates a draft AdverseEvent (actuality potential) for the investigator.
        foreach (var card in cards.Where(c => (string?)c["extension"]?["cdsrisk"]?["card"] == "safety-signal"))
        {
            var drafts = (card["suggestions"] as JsonArray ?? []).SelectMany(s => s?["actions"] as JsonArray ?? []).Select(a => a?["resource"])
                .Where(r => (string?)r?["resourceType"] == "AdverseEvent").ToList();
            if (drafts.Count == 0 || drafts.Any(r => (string?)r?["actuality"] != "potential"))
            {
                problems.Add("the safety-signal card has no suggestion creating a potential AdverseEvent");
            }
        }

        return problems;
    }
}
