using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom;
using Microsoft.AspNetCore.WebUtilities;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using FhirEndpoint = Hl7.Fhir.Model.Endpoint;

namespace CdsRisk.Api.DicomWeb;

/// <summary>
/// QIDO-RS and WADO-RS (PS3.18 §10.4, §10.6) against allow-listed servers. Series are streamed part by part; each instance is
/// parsed as it arrives and reduced to an <see cref="ImagingSlice"/>, so its bytes are held once and briefly.
/// </summary>
public sealed partial class DicomWebClient(HttpClient http, IOptions<DicomWebOptions> options, IOptions<PhaseRules> phaseRules, ILogger<DicomWebClient> logger)
{
    /// <summary>Spans carry counts only (series, instances, bytes), never UIDs or names.</summary>
    public static readonly ActivitySource ActivitySource = new("CdsRisk.DicomWeb");

    /// <summary>Orthanc's DICOMweb plugin understands exactly one media range (no lists, no q-values); ask for Explicit VR LE.</summary>
    public const string SeriesAccept = "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1";

    private readonly DicomWebOptions _options = options.Value;

    /// <summary>The base URL for a study: its Endpoint, else DicomWeb:BaseUrl; refused unless allow-listed.</summary>
    public Uri ResolveServer(ImagingStudyReference study)
    {
        var server = study.BaseUrl ?? (string.IsNullOrWhiteSpace(_options.BaseUrl) ? null : new Uri(_options.BaseUrl))
            ?? throw new DicomWebException(DicomWebError.NoServer, "the ImagingStudy has no dicom-wado-rs Endpoint and DicomWeb:BaseUrl is not set");
        if (!DicomWebServerPolicy.IsAllowed(server, _options.AllowedServers))
        {
            LogNotAllowed(logger, server.Host);
            throw new DicomWebException(DicomWebError.ServerNotAllowed, $"DICOMweb server {server.GetLeftPart(UriPartial.Authority)} is not on DicomWeb:AllowedServers");
        }

        return server;
    }

    /// <summary>QIDO-RS: the MR series of a study with their descriptions.</summary>
    public async Task<IReadOnlyList<(string SeriesInstanceUid, string? Description)>> SearchMrSeriesAsync(Uri server, string studyUid, CancellationToken cancellationToken)
    {
        using var request = Get(server, $"studies/{Uid(studyUid)}/series?Modality=MR&includefield=0008103E", "application/dicom+json");
        using var response = await SendAsync(request, null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return [];
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        try
        {
            using var json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
            var result = new List<(string, string?)>();
            foreach (var item in json.RootElement.EnumerateArray())
            {
                var uid = FirstString(item, "0020000E");
                if (uid is not null)
                {
                    result.Add((uid, FirstString(item, "0008103E")));
                }
            }

            return result;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, "QIDO-RS answer is not a DICOM JSON array", inner: ex);
        }
    }

    /// <summary>
    /// WADO-RS: the instances of one series as parsed files, each owning a copy of its bytes (for tools that keep the files; the
    /// pipeline streams through <see cref="ReadSeriesPartsAsync"/> instead). A part the reader refuses comes as its exception.
    /// </summary>
    public async IAsyncEnumerable<(DicomFile? File, DicomReadException? Error)> RetrieveSeriesAsync(Uri server, string studyUid, string seriesUid,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var files = new List<(DicomFile?, DicomReadException?)>();
        await ReadSeriesPartsAsync(server, studyUid, seriesUid, (part, _) =>
        {
            files.Add(Parse(part.ToArray()));
            return ValueTask.CompletedTask;
        }, cancellationToken);
        foreach (var file in files)
        {
            yield return file;
        }
    }

    /// <summary>
    /// WADO-RS: reads one series part by part and hands each instance's bytes to <paramref name="onPart"/>, which must not keep
    /// them: the buffer is pooled and reused for the next part, so a series streams through without an allocation per instance.
    /// </summary>
    internal async System.Threading.Tasks.Task ReadSeriesPartsAsync(Uri server, string studyUid, string seriesUid, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onPart,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.SeriesTimeoutSeconds));
        using var request = Get(server, $"studies/{Uid(studyUid)}/series/{Uid(seriesUid)}", SeriesAccept);
        using var response = await SendAsync(request, seriesUid, timeout.Token);
        var boundary = Boundary(response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var types) ? types.ToString() : null, seriesUid);
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        var reader = new MultipartReader(boundary, body) { BodyLengthLimit = _options.MaxInstanceBytes };
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (true)
            {
                int length;
                try
                {
                    var section = await reader.ReadNextSectionAsync(timeout.Token);
                    if (section is null)
                    {
                        return;
                    }

                    if (section.ContentType is { } type && !type.StartsWith("application/dicom", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: a part has content type {type}, not application/dicom", seriesUid);
                    }

                    (buffer, length) = await ReadPartAsync(section, buffer, timeout.Token);
                }
                catch (IOException ex)
                {
                    throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: the multipart body is malformed or cut short ({ex.GetType().Name})", seriesUid, inner: ex);
                }
                catch (InvalidDataException ex)
                {
                    throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: the multipart body is malformed ({ex.Message})", seriesUid, inner: ex);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new DicomWebException(DicomWebError.Unreachable, $"series {seriesUid} did not arrive within {_options.SeriesTimeoutSeconds} s", seriesUid, inner: ex);
                }

                await onPart(buffer.AsMemory(0, length), timeout.Token);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static (DicomFile? File, DicomReadException? Error) Parse(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return (DicomReader.Read(bytes), null);
        }
        catch (DicomReadException ex)
        {
            return (null, ex);
        }
    }

    /// <summary>
    /// Loads the study an R4 ImagingStudy points at, with the site's <see cref="PhaseRules"/> (configuration <c>Imaging:PhaseRules</c>).
    /// Throws <see cref="DicomWebException"/> (NoStudyUid, NoServer, ServerNotAllowed, Unreachable); server-side failures of single
    /// series and every imaging problem come back as refusals in the result.
    /// </summary>
    public Task<StudyImagingResult> LoadStudyAsync(ImagingStudy study, IEnumerable<FhirEndpoint>? endpoints, ImageInputSpec spec, DateOnly? referenceDate,
        CancellationToken cancellationToken) =>
        LoadStudyAsync(ImagingStudyReference.FromFhir(study, endpoints), phaseRules.Value, spec, referenceDate, cancellationToken);

    /// <summary>
    /// Loads a study into phase volumes: resolves and checks the server, lists MR series (from the ImagingStudy, else QIDO-RS),
    /// streams each series and assembles the result. A series the server cannot deliver (HTTP 5xx, for example JPEG 2000 that it
    /// cannot transcode) becomes a refusal naming the series.
    /// </summary>
    public async Task<StudyImagingResult> LoadStudyAsync(ImagingStudyReference study, PhaseRules rules, ImageInputSpec spec, DateOnly? referenceDate,
        CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("dicomweb.load-study");
        var server = ResolveServer(study);
        var seriesUids = study.SeriesInstanceUids.Count > 0
            ? study.SeriesInstanceUids
            : (await SearchMrSeriesAsync(server, study.StudyInstanceUid, cancellationToken)).Select(s => s.SeriesInstanceUid).ToList();
        if (seriesUids.Count == 0)
        {
            return new StudyImagingResult([], [new ImagingRefusal(ImagingRefusalReason.NoMrSeries, null, null,
                $"the DICOMweb server lists no MR series for study {study.StudyInstanceUid}")], [], null);
        }

        // Series are retrieved DicomWeb:ParallelSeries at a time, so the server prepares one while this side parses another;
        // each series keeps its own list, joined in the study's order.
        var perSeries = new List<ImagingSlice>[seriesUids.Count];
        var failures = new ImagingRefusal?[seriesUids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, seriesUids.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.ParallelSeries, CancellationToken = cancellationToken },
            async (index, ct) =>
            {
                var seriesUid = seriesUids[index];
                var list = perSeries[index] = [];
                try
                {
                    // Each instance is reduced to the model grid as it arrives (ImagingSlice copies what it needs), so its bytes go back to the pool.
                    await ReadSeriesPartsAsync(server, study.StudyInstanceUid, seriesUid, (part, _) =>
                    {
                        var (file, error) = Parse(part);
                        list.Add(file is not null
                            ? ImagingSlice.FromDataset(file.Dataset, spec)
                            : new ImagingSlice { SeriesInstanceUid = seriesUid, Modality = "MR", PixelProblem = error!.Message });
                        return ValueTask.CompletedTask;
                    }, ct);
                }
                catch (DicomWebException ex) when (ex.Error is DicomWebError.HttpError or DicomWebError.InvalidResponse)
                {
                    LogSeriesFailed(logger, ex.StatusCode ?? 0, ex.Error.ToString());
                    failures[index] = new ImagingRefusal(ImagingRefusalReason.ServerError, seriesUid, null, ex.Message);
                }
            });
        var slices = perSeries.SelectMany(l => l).ToList();
        var serverRefusals = failures.OfType<ImagingRefusal>().ToList();

        var result = StudyAssembler.Assemble(slices, rules, spec, referenceDate);
        activity?.SetTag("dicomweb.series", seriesUids.Count);
        activity?.SetTag("dicomweb.instances", slices.Count);
        activity?.SetTag("imaging.accepted", result.IsAccepted);
        if (serverRefusals.Count == 0)
        {
            return result;
        }

        // A series the server could not send is fatal only when a phase is missing; otherwise it is listed with the skipped volumes.
        return result.IsAccepted
            ? result with { SkippedVolumes = [.. result.SkippedVolumes, .. serverRefusals] }
            : result with { Refusals = [.. serverRefusals, .. result.Refusals], SkippedVolumes = [.. result.SkippedVolumes, .. serverRefusals] };
    }

    /// <summary>Reads one part into <paramref name="buffer"/> (a pooled array, grown through the pool when a part is larger).</summary>
    private async Task<(byte[] Buffer, int Length)> ReadPartAsync(MultipartSection section, byte[] buffer, CancellationToken cancellationToken)
    {
        if (section.Headers is { } headers && headers.TryGetValue("Content-Length", out var values)
            && long.TryParse(values.ToString(), out var declared) && declared >= 0)
        {
            if (declared > _options.MaxInstanceBytes)
            {
                throw new DicomWebException(DicomWebError.InvalidResponse, $"an instance of {declared} bytes exceeds DicomWeb:MaxInstanceBytes");
            }

            buffer = Grow(buffer, (int)declared);
            await section.Body.ReadExactlyAsync(buffer.AsMemory(0, (int)declared), cancellationToken);
            return (buffer, (int)declared);
        }

        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                buffer = Grow(buffer, checked(buffer.Length * 2));
            }

            var read = await section.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return (buffer, length);
            }

            length += read;
        }

        static byte[] Grow(byte[] buffer, int needed)
        {
            if (buffer.Length >= needed)
            {
                return buffer;
            }

            var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(needed);
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            return bigger;
        }
    }

    private HttpRequestMessage Get(Uri server, string relative, string accept)
    {
        var baseText = server.AbsoluteUri.EndsWith('/') ? server.AbsoluteUri : server.AbsoluteUri + "/";
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(baseText), relative));
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if (!string.IsNullOrWhiteSpace(_options.AuthorizationHeader))
        {
            request.Headers.TryAddWithoutValidation("Authorization", _options.AuthorizationHeader);
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string? seriesUid, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new DicomWebException(DicomWebError.Unreachable, $"DICOMweb server {request.RequestUri!.GetLeftPart(UriPartial.Authority)} is unreachable", seriesUid, inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DicomWebException(DicomWebError.Unreachable, "DICOMweb request timed out", seriesUid, inner: ex);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            throw new DicomWebException(DicomWebError.Unreachable, "DICOMweb request timed out", seriesUid, inner: ex);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            var what = seriesUid is null ? "the query" : $"series {seriesUid}";
            var hint = seriesUid is not null && status >= 500
                ? " in Explicit VR Little Endian; it is probably stored compressed (for example JPEG 2000) and the server cannot transcode it"
                : "";
            throw new DicomWebException(DicomWebError.HttpError, $"the DICOMweb server could not deliver {what}{hint} (HTTP {status})", seriesUid, status);
        }

        return response;
    }

    /// <summary>The boundary of a multipart/related answer, quoted or not (RFC 2046 §5.1.1, RFC 2387), parsed with ASP.NET Core's header parser.</summary>
    private static string Boundary(string? contentType, string seriesUid)
    {
        if (contentType is null || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
            || !media.MediaType.Equals("multipart/related", StringComparison.OrdinalIgnoreCase))
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: response is {(contentType is null ? "untyped" : "not multipart/related")}", seriesUid);
        }

        var boundary = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(media.Boundary).ToString();
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 70)
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: multipart response without a valid boundary (RFC 2046 §5.1.1)", seriesUid);
        }

        return boundary;
    }

    private static string Uid(string uid) =>
        uid.Length is > 0 and <= 64 && uid.All(c => char.IsAsciiDigit(c) || c == '.')
            ? uid
            : throw new DicomWebException(DicomWebError.NoStudyUid, "a UID must be 1-64 digits and dots");

    private static string? FirstString(JsonElement item, string tag) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(tag, out var attribute) && attribute.ValueKind == JsonValueKind.Object
        && attribute.TryGetProperty("Value", out var value) && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
        && value[0].ValueKind == JsonValueKind.String
            ? value[0].GetString()
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "DICOMweb server {Host} refused: not on DicomWeb:AllowedServers")]
    private static partial void LogNotAllowed(ILogger logger, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DICOMweb series retrieval failed: HTTP {Status}, {Error}")]
    private static partial void LogSeriesFailed(ILogger logger, int status, string error);
}
