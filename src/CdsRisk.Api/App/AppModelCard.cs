using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

public sealed record CalibrationBin(double MeanPredicted, double ObservedRate, int N);

/// <summary>The bundled model card as the app shows it: name, warning, threshold, calibration curve.</summary>
public sealed class AppModelCard(IOptions<PreModelOptions> options)
{
    private readonly Lazy<(string Json, JsonObject Card)> _card = new(() =>
    {
        var json = File.ReadAllText(Path.Combine(options.Value.ResolveDirectory(), PreModelOptions.CardFileName));
        return (json, JsonNode.Parse(json)!.AsObject());
    });

    public string Json => _card.Value.Json;
    public string Name => (string?)_card.Value.Card["name"] ?? (string?)_card.Value.Card["id"] ?? "PRE model";
    public bool NotForClinicalUse => (bool?)_card.Value.Card["notForClinicalUse"] ?? false;
    public double Threshold => (double?)_card.Value.Card["threshold"] ?? 0.5;

    public IReadOnlyList<CalibrationBin> Calibration =>
        _card.Value.Card["metrics"]?["calibration"] is JsonArray bins
            ? [.. bins.OfType<JsonObject>().Select(b => new CalibrationBin((double?)b["meanPredicted"] ?? 0, (double?)b["observedRate"] ?? 0, (int?)b["n"] ?? 0))]
            : [];
}

/// <summary>Pictures drawn as SVG markup from numbers only (no text from the EHR goes into them).</summary>
public static class Svg
{
    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>The PRE on a 0–1 scale with the threshold marked.</summary>
    public static string PreScale(double score, double threshold)
    {
        const double w = 300, x0 = 10;
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 320 56\" width=\"320\" height=\"56\" role=\"img\" aria-label=\"PRE {F(score)} on a scale from 0 to 1; threshold {F(threshold)}\">");
        sb.Append($"<rect x=\"{x0}\" y=\"18\" width=\"{w}\" height=\"10\" fill=\"#dfe1e2\"/>");
        sb.Append($"<rect x=\"{F(x0 + w * threshold)}\" y=\"18\" width=\"{F(w * (1 - threshold))}\" height=\"10\" fill=\"#f2c7c7\"/>");
        sb.Append($"<line x1=\"{F(x0 + w * threshold)}\" x2=\"{F(x0 + w * threshold)}\" y1=\"12\" y2=\"34\" stroke=\"#6b0000\" stroke-width=\"2\"/>");
        sb.Append($"<text x=\"{F(x0 + w * threshold)}\" y=\"10\" font-size=\"10\" text-anchor=\"middle\" fill=\"#1b1b1b\">threshold {F(threshold)}</text>");
        sb.Append($"<circle cx=\"{F(x0 + w * Math.Clamp(score, 0, 1))}\" cy=\"23\" r=\"7\" fill=\"#005ea2\" stroke=\"#fff\" stroke-width=\"2\"/>");
        sb.Append($"<text x=\"{x0}\" y=\"48\" font-size=\"10\" fill=\"#1b1b1b\">0</text><text x=\"{x0 + w}\" y=\"48\" font-size=\"10\" text-anchor=\"end\" fill=\"#1b1b1b\">1</text>");
        sb.Append($"<text x=\"{F(x0 + w * Math.Clamp(score, 0, 1))}\" y=\"48\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1b1b1b\">PRE {F(score)}</text></svg>");
        return sb.ToString();
    }

    /// <summary>The model card's calibration curve (mean predicted vs observed rate per bin), the diagonal, and this patient's score.</summary>
    public static string Calibration(IReadOnlyList<CalibrationBin> bins, double? score)
    {
        const double s = 200, x0 = 40, y0 = 220;
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 260 260\" width=\"260\" height=\"260\" role=\"img\" aria-label=\"Calibration curve of the model on its held-out set{(score is { } v ? $", this patient's PRE {F(v)} marked" : "")}\">");
        sb.Append($"<rect x=\"{x0}\" y=\"{y0 - s}\" width=\"{s}\" height=\"{s}\" fill=\"none\" stroke=\"#757575\"/>");
        sb.Append($"<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0 + s}\" y2=\"{y0 - s}\" stroke=\"#757575\" stroke-dasharray=\"4 3\"/>");
        sb.Append("<polyline fill=\"none\" stroke=\"#005ea2\" stroke-width=\"2\" points=\"");
        foreach (var b in bins) sb.Append($"{F(x0 + s * b.MeanPredicted)},{F(y0 - s * b.ObservedRate)} ");
        sb.Append("\"/>");
        foreach (var b in bins) sb.Append($"<circle cx=\"{F(x0 + s * b.MeanPredicted)}\" cy=\"{F(y0 - s * b.ObservedRate)}\" r=\"3\" fill=\"#005ea2\"/>");
        if (score is { } p)
        {
            sb.Append($"<line x1=\"{F(x0 + s * p)}\" x2=\"{F(x0 + s * p)}\" y1=\"{y0 - s}\" y2=\"{y0}\" stroke=\"#b50909\" stroke-width=\"2\"/>");
            sb.Append($"<text x=\"{F(x0 + s * p)}\" y=\"{y0 - s - 4}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#6b0000\">this patient {F(p)}</text>");
        }

        sb.Append($"<text x=\"{x0 + s / 2}\" y=\"{y0 + 28}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1b1b1b\">mean predicted PRE</text>");
        sb.Append($"<text x=\"12\" y=\"{y0 - s / 2}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1b1b1b\" transform=\"rotate(-90 12 {y0 - s / 2})\">observed rate</text>");
        sb.Append($"<text x=\"{x0}\" y=\"{y0 + 13}\" font-size=\"10\" fill=\"#1b1b1b\">0</text><text x=\"{x0 + s}\" y=\"{y0 + 13}\" font-size=\"10\" text-anchor=\"end\" fill=\"#1b1b1b\">1</text></svg>");
        return sb.ToString();
    }

    /// <summary>A CONSORT-style flow: one box per step with its count, arrows down, exclusions to the side.</summary>
    public static string Flow(IReadOnlyList<(string Label, int Count, IReadOnlyList<(string Label, int Count)> Aside)> steps)
    {
        const int boxW = 260, boxH = 44, gap = 34, asideW = 300;
        var height = steps.Sum(s => Math.Max(boxH, 16 + 16 * s.Aside.Count) + gap) + 10;
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {boxW + asideW + 60} {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"flow-title\"><title id=\"flow-title\">Screening flow: ");
        sb.Append(System.Net.WebUtility.HtmlEncode(string.Join("; ", steps.Select(s => $"{s.Label} {s.Count}"))));
        sb.Append("</title>");
        var y = 10;
        foreach (var (label, count, aside) in steps)
        {
            var h = Math.Max(boxH, 16 + 16 * aside.Count);
            sb.Append($"<rect x=\"10\" y=\"{y}\" width=\"{boxW}\" height=\"{boxH}\" fill=\"#eef4fa\" stroke=\"#005ea2\"/>");
            sb.Append($"<text x=\"{10 + boxW / 2}\" y=\"{y + 27}\" font-size=\"14\" text-anchor=\"middle\" fill=\"#1b1b1b\">{System.Net.WebUtility.HtmlEncode(label)}: {count}</text>");
            if (aside.Count > 0)
            {
                sb.Append($"<line x1=\"{10 + boxW}\" y1=\"{y + boxH / 2}\" x2=\"{boxW + 40}\" y2=\"{y + boxH / 2}\" stroke=\"#757575\"/>");
                sb.Append($"<rect x=\"{boxW + 40}\" y=\"{y}\" width=\"{asideW}\" height=\"{h}\" fill=\"#fff\" stroke=\"#757575\"/>");
                for (var i = 0; i < aside.Count; i++)
                {
                    sb.Append($"<text x=\"{boxW + 48}\" y=\"{y + 18 + 16 * i}\" font-size=\"12\" fill=\"#1b1b1b\">{System.Net.WebUtility.HtmlEncode(aside[i].Label)}: {aside[i].Count}</text>");
                }
            }

            y += h + gap;
            sb.Append($"<line x1=\"{10 + boxW / 2}\" y1=\"{y - gap + (h - boxH) - (h - boxH) + boxH}\" x2=\"{10 + boxW / 2}\" y2=\"{y}\" stroke=\"#757575\"/>");
        }

        sb.Append("</svg>");
        return sb.ToString();
    }
}
