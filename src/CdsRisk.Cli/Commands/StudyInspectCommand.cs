using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.Cli.Commands;

/// <summary>
/// <c>study inspect --dicomweb URL --study UID</c>: loads a study through the service's DICOMweb client (the URL given is the
/// only allowed server) and prints what phase selection found or why it refused.
/// </summary>
public static class StudyInspectCommand
{
    public static async Task<int> RunAsync(Uri server, string study, DateOnly? date, string? auth, TextWriter output, TextWriter error)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DicomWeb:AllowedServers:0"] = server.AbsoluteUri,
            ["DicomWeb:AuthorizationHeader"] = auth,
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
        var client = services.GetRequiredService<DicomWebClient>();

        StudyImagingResult result;
        try
        {
            // The protocol's MRI window, as the service applies it.
            var rules = PhaseRules.Default with { MaxStudyAgeDays = CdsRisk.Core.Eligibility.EligibilityData.LoadEmbedded().Protocol.MriWindowDays };
            result = await client.LoadStudyAsync(new ImagingStudyReference(server, study, []), rules, ImageInputSpec.Default, date,
                CancellationToken.None);
        }
        catch (DicomWebException ex)
        {
            error.WriteLine($"refused: {ex.Error}{(ex.StatusCode is { } s ? $" (HTTP {s})" : "")}: {ex.Message}");
            return 1;
        }

        output.WriteLine($"study {study}: {(result.IsAccepted ? "ACCEPTED" : "REFUSED")}");
        foreach (var phase in result.Phases)
        {
            var g = phase.Geometry;
            output.WriteLine(FormattableString.Invariant(
                $"  {phase.Phase,-13} series {phase.SeriesInstanceUid}{(phase.TimePoint is null ? "" : " " + phase.TimePoint)} \"{phase.SeriesDescription}\""));
            output.WriteLine(FormattableString.Invariant(
                $"                {phase.SliceCount} slices of {g.Rows}x{g.Columns}, pixel {g.RowSpacingMm:F3}x{g.ColumnSpacingMm:F3} mm, slice spacing {g.SliceSpacingMm:F3} mm, coverage {g.CoverageMm:F1} mm"));
            output.WriteLine($"                identified by {phase.IdentifiedBy}: {phase.IdentificationDetail}");
        }

        foreach (var refusal in result.Refusals)
        {
            output.WriteLine($"  refusal {refusal.Reason}{Where(refusal)}: {refusal.Detail}");
        }

        foreach (var skipped in result.SkippedVolumes)
        {
            output.WriteLine($"  set aside {skipped.Reason}{Where(skipped)}: {skipped.Detail}");
        }

        return result.IsAccepted ? 0 : 1;
    }

    private static string Where(ImagingRefusal r) =>
        r.SeriesInstanceUid is null ? "" : $" (series {r.SeriesInstanceUid}{(r.TimePoint is null ? "" : " " + r.TimePoint)})";
}
