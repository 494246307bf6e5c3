using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace CdsRisk.UnitTests.Cards;

/// <summary>
/// Issue 14 section 5: short cards. Every card of every golden (what production sends) is laid out as the CDS Hooks Sandbox's
/// card pane shows it, about 680 px wide: at 14 px text about <see cref="CharactersPerLine"/> characters a line. Each card must fit
/// in <see cref="MaxLines"/> lines (summary, detail, source, suggestion buttons, links), and no word may be wider than the pane.
/// The measured size of each card kind is printed (run with <c>--logger "console;verbosity=detailed"</c>).
/// </summary>
public sealed partial class CardSizeTests(ITestOutputHelper output)
{
    /// <summary>680 px less the card's padding (about 40 px), at about 7 px a character of 14 px sans-serif text.</summary>
    public const int CharactersPerLine = 90;

    /// <summary>One card on one screen of the pane: about 20 px a line, 600 px (the 17-row criteria table took 63 lines).</summary>
    public const int MaxLines = 30;

    [Theory]
    [MemberData(nameof(CardGoldenTests.Cases), MemberType = typeof(CardGoldenTests))]
    public void ShortCards_EveryCardFitsTheSandboxCardPane(string name)
    {
        foreach (var card in CardGoldenTests.Calls[name]()["cards"]!.AsArray().OfType<JsonObject>())
        {
            var kind = card["extension"]!["cdsrisk"]!["card"]!.GetValue<string>();
            var (lines, widest) = Measure(card);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-32} {kind,-26} {lines,3} lines (~{lines * 20} px high), widest word {widest} characters (~{widest * 7} px)"));
            Assert.True(lines <= MaxLines, $"{name}/{kind}: {lines} lines, more than {MaxLines}");
            Assert.True(widest <= CharactersPerLine / 2, $"{name}/{kind}: a word of {widest} characters");
        }
    }

    [Fact]
    public void Measure_CountsWrappedLines_SoAPassMeansSomething()
    {
        // The 17-row criteria table the cards carried before (issue 14 section 5) does not fit.
        var table = string.Join("\n", Enumerable.Range(1, 17).Select(i => $"| Criterion {i} | pass | requirement satisfied by the record of this patient at this date | Evidence {i} (2026-01-01) |"));
        var card = new JsonObject { ["summary"] = "s", ["detail"] = "**Heading**\n\n" + table, ["source"] = new JsonObject { ["label"] = "x" } };
        Assert.True(Measure(card).Lines > MaxLines);
        Assert.Equal(2, Wrap(new string('a', CharactersPerLine + 1)));
    }

    /// <summary>Lines the card takes in the pane, and its widest word.</summary>
    internal static (int Lines, int Widest) Measure(JsonObject card)
    {
        var texts = new List<string> { (string?)card["summary"] ?? "" };
        texts.AddRange(((string?)card["detail"] ?? "").TrimEnd().Split('\n').Select(Plain));
        texts.Add("Source: " + (string?)card["source"]?["label"]);
        texts.AddRange((card["suggestions"] as JsonArray ?? []).Select(s => (string?)s?["label"] ?? ""));
        texts.AddRange((card["links"] as JsonArray ?? []).Select(l => (string?)l?["label"] ?? ""));
        var lines = texts.Sum(t => t.Length == 0 ? 1 : Wrap(t));
        var widest = texts.SelectMany(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(w => w.Length).DefaultIfEmpty(0).Max();
        return (lines, widest);
    }

    /// <summary>Lines a paragraph wraps to at <see cref="CharactersPerLine"/>, breaking at spaces.</summary>
    internal static int Wrap(string text)
    {
        var lines = 1;
        var used = 0;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var need = used == 0 ? word.Length : used + 1 + word.Length;
            if (need > CharactersPerLine && used > 0)
            {
                lines++;
                used = word.Length;
            }
            else
            {
                used = need;
            }

            while (used > CharactersPerLine)
            {
                lines++;
                used -= CharactersPerLine;
            }
        }

        return lines;
    }

    /// <summary>The Markdown line as it reads: emphasis, escapes and list or heading markers removed.</summary>
    private static string Plain(string markdown) => Markup().Replace(markdown, string.Empty);

    [GeneratedRegex(@"\*\*|\\(?=[\\`*_\[\]<>|#~&!{}])|^#+ |^- ")]
    private static partial Regex Markup();
}
