using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom;
using Hl7.Fhir.Model;
using FhirEndpoint = Hl7.Fhir.Model.Endpoint;

namespace CdsRisk.Api.App;

/// <summary>A phase picture, or why there is none.</summary>
public sealed record PhaseImage(byte[]? Png, string? Problem, int Status);

/// <summary>
/// One picture per MRI phase for the detail view: the middle slice of the phase's series (of its time point, for a dynamic series),
/// read from the PACS through the service's own DICOMweb client (its allow-list and read limits apply) and rendered here as an 8-bit
/// grayscale PNG. Nothing records where the lesion is, so the slice shown is always the middle one.
/// </summary>
public static class PhaseImages
{
    /// <summary>Longest side of a rendered picture (the page shows them at 14 rem).</summary>
    public const int MaxSide = 512;

    private static readonly DicomTag WindowCenter = new(0x0028, 0x1050);
    private static readonly DicomTag WindowWidth = new(0x0028, 0x1051);

    /// <summary>
    /// Renders <paramref name="phase"/> of a recorded assessment. The ImagingStudy is read from the EHR with the launch's token and
    /// must be the patient's and have the recorded study UID; the series must be the one the assessment recorded for the phase.
    /// </summary>
    public static async Task<PhaseImage> RenderAsync(PhaseSummary phase, string patientRef, string? studyUid, string? imagingStudyReference, string issuer, string token,
        SmartClient smart, DicomWebClient dicom, CancellationToken cancellationToken)
    {
        if (studyUid is null || imagingStudyReference is null || !imagingStudyReference.StartsWith("ImagingStudy/", StringComparison.Ordinal))
        {
            return new(null, "the assessment recorded no imaging study", StatusCodes.Status404NotFound);
        }

        // The study must belong to the launched patient per the EHR (not only per our own record).
        var json = await smart.ReadFhirAsync(issuer, imagingStudyReference, token, cancellationToken);
        if (json is null || !FhirJson.TryParse(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), out var resource, out _) || resource is not ImagingStudy study)
        {
            return new(null, "the EHR did not return the imaging study", StatusCodes.Status502BadGateway);
        }

        if (!string.Equals(study.Subject?.Reference, patientRef, StringComparison.Ordinal))
        {
            return new(null, "the imaging study is not of this patient", StatusCodes.Status403Forbidden);
        }

        ImagingStudyReference where;
        Uri server;
        try
        {
            var endpoints = new List<FhirEndpoint>();
            foreach (var reference in study.Endpoint.Select(e => e.Reference).Where(r => r is not null && r.StartsWith("Endpoint/", StringComparison.Ordinal)))
            {
                if (await smart.ReadFhirAsync(issuer, reference!, token, cancellationToken) is { } e
                    && FhirJson.TryParse(System.Text.Encoding.UTF8.GetBytes(e.ToJsonString()), out var r, out _) && r is FhirEndpoint endpoint)
                {
                    endpoints.Add(endpoint);
                }
            }

            where = ImagingStudyReference.FromFhir(study, endpoints);
            if (where.StudyInstanceUid != studyUid) return new(null, "the imaging study's UID is not the one assessed", StatusCodes.Status409Conflict);
            server = dicom.ResolveServer(where);
        }
        catch (DicomWebException e)
        {
            return new(null, e.Message, StatusCodes.Status502BadGateway);
        }

        try
        {
            var instances = await dicom.SearchInstancesAsync(server, studyUid, phase.SeriesInstanceUid, cancellationToken);
            var ofPhase = instances.Where(i => phase.TimePoint is null || i.TimePoint(phase.TimePoint)).OrderBy(i => i.InstanceNumber ?? int.MaxValue).ThenBy(i => i.SopInstanceUid, StringComparer.Ordinal).ToList();
            if (ofPhase.Count == 0) return new(null, "the PACS lists no instance of this phase's series", StatusCodes.Status404NotFound);
            var middle = ofPhase[ofPhase.Count / 2];
            var file = await dicom.RetrieveInstanceAsync(server, studyUid, phase.SeriesInstanceUid, middle.SopInstanceUid, cancellationToken);
            return Render(file.Dataset) is { } png ? new(png, null, StatusCodes.Status200OK) : new(null, "the slice has no pixel data this service can read", StatusCodes.Status502BadGateway);
        }
        catch (DicomWebException e)
        {
            return new(null, e.Message, StatusCodes.Status502BadGateway);
        }
        catch (DicomReadException e)
        {
            return new(null, "the slice could not be read: " + e.Message, StatusCodes.Status502BadGateway);
        }
    }

    /// <summary>One frame (the middle one of a multi-frame instance) as a PNG, windowed; null when its pixels cannot be read.</summary>
    public static byte[]? Render(DicomDataset dataset)
    {
        var pixels = DicomPixelData.From(dataset);
        if (pixels.Rows < 1 || pixels.Columns < 1) return null;
        var values = new float[pixels.PixelsPerFrame];
        pixels.ReadModalityValues(pixels.FrameCount / 2, values);
        double? center = dataset.GetNumbers(WindowCenter) is [var wc, ..] ? wc : null;
        double? width = dataset.GetNumbers(WindowWidth) is [var ww, ..] ? ww : null;
        var invert = string.Equals(dataset.GetString(DicomTags.PhotometricInterpretation)?.Trim(), "MONOCHROME1", StringComparison.Ordinal);

        var (rows, columns) = (pixels.Rows, pixels.Columns);
        if (Math.Max(rows, columns) > MaxSide)
        {
            var scale = (double)MaxSide / Math.Max(rows, columns);
            var (height, widthPx) = (Math.Max(1, (int)Math.Round(rows * scale)), Math.Max(1, (int)Math.Round(columns * scale)));
            var smaller = new float[height * widthPx];
            Resampling.ResamplePlane(values, rows, columns, smaller, height, widthPx);
            (values, rows, columns) = (smaller, height, widthPx);
        }

        return PngEncoder.Gray8(columns, rows, Window(values, center, width, invert));
    }

    /// <summary>
    /// Modality values to 8-bit display values: the DICOM linear VOI function (PS3.3 §C.11.2.1.2.1) with Window Center/Width when the
    /// instance gives a usable width (≥ 1), else the frame's min..max; MONOCHROME1 (minimum is white) inverted.
    /// </summary>
    public static byte[] Window(ReadOnlySpan<float> values, double? center, double? width, bool invert = false)
    {
        double c, w;
        if (center is { } wc && width is { } ww && ww >= 1 && double.IsFinite(wc) && double.IsFinite(ww))
        {
            (c, w) = (wc, ww);
        }
        else
        {
            var (min, max) = (float.PositiveInfinity, float.NegativeInfinity);
            foreach (var v in values)
            {
                if (!float.IsFinite(v)) continue;
                if (v < min) min = v;
                if (v > max) max = v;
            }

            if (min > max) (min, max) = (0, 0);
            // The linear function with c - 0.5 - (w-1)/2 = min and c - 0.5 + (w-1)/2 = max.
            w = Math.Max(1, max - min + 1);
            c = min + 0.5 + (w - 1) / 2;
        }

        var output = new byte[values.Length];
        var low = c - 0.5 - (w - 1) / 2;
        var high = c - 0.5 + (w - 1) / 2;
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            double y = !float.IsFinite(x) ? 0
                : x <= low ? 0
                : x > high ? 255
                : ((x - (c - 0.5)) / (w - 1 == 0 ? 1 : w - 1) + 0.5) * 255;
            var b = (byte)Math.Clamp(Math.Round(y), 0, 255);
            output[i] = invert ? (byte)(255 - b) : b;
        }

        return output;
    }

    /// <summary>The placeholder shown instead of a picture: an SVG naming the phase and why (text encoded; served from self like the page).</summary>
    public static string Placeholder(string phase, string reason)
    {
        static string E(string s) => System.Net.WebUtility.HtmlEncode(s);
        return $"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256" role="img" aria-label="{E(phase)} phase: image not available"><rect width="256" height="256" fill="#eeeeee"/><text x="128" y="110" font-family="sans-serif" font-size="15" text-anchor="middle" fill="#1b1b1b">{E(phase)} phase</text><text x="128" y="134" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#1b1b1b">image not available</text><text x="128" y="158" font-family="sans-serif" font-size="9" text-anchor="middle" fill="#444444">{E(reason.Length > 60 ? reason[..57] + "..." : reason)}</text></svg>""";
    }
}
