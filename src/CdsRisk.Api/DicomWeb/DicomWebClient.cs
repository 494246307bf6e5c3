using System.Diagnostics;
using System.Globalization;
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
        var (server, problem) = _options.Locate(study.BaseUrl);
        if (problem is not null)
        {
            if (problem.Error == DicomWebError.ServerNotAllowed)
            {
                LogNotAllowed(logger, server!.Host);
            }

            throw problem;
        }

        return server!;
    }

    /// <summary>QIDO-RS: the MR series of a study with their descriptions.</summary>
    public async Task<IReadOnlyList<(string SeriesInstanceUid, string? Description)>> SearchMrSeriesAsync(Uri server, string studyUid, CancellationToken cancellationToken)
    {
        var result = new List<(string, string?)>();
        foreach (var item in await QueryAsync(server, $"studies/{Uid(studyUid)}/series?Modality=MR&includefield=0008103E", cancellationToken))
        {
            if (FirstString(item, "0020000E") is { } uid)
            {
                result.Add((uid, FirstString(item, "0008103E")));
            }
        }

        return result;
    }

    /// <summary>
    /// QIDO-RS at study level (PS3.18 §10.6.1): whether the server has the study, and its Study Date (0008,0020), a required
    /// return key at study level (PS3.18 Table 10.6.3-3), so it is known before any image is read.
    /// </summary>
    public async Task<(bool Found, DateOnly? StudyDate)> SearchStudyAsync(Uri server, string studyUid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(server, $"studies?StudyInstanceUID={Uid(studyUid)}&includefield=00080020", cancellationToken);
        var match = items.FirstOrDefault(i => FirstString(i, "0020000D") is not { } uid || uid == studyUid);
        if (match.ValueKind == JsonValueKind.Undefined)
        {
            return (false, null);
        }

        // DA is YYYYMMDD (PS3.5 §6.2); a value the server writes otherwise is treated as absent.
        return (true, FirstString(match, "00080020") is { } text
            && DateOnly.TryParseExact(text.Trim(), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null);
    }

    /// <summary>A QIDO-RS answer as DICOM JSON objects (PS3.18 §F.2), read with DicomWeb:MaxQueryBytes and the read idle timeout.</summary>
    private async Task<IReadOnlyList<JsonElement>> QueryAsync(Uri server, string relative, CancellationToken cancellationToken)
    {
        using var request = Get(server, relative, "application/dicom+json");
        using var response = await SendAsync(request, null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return [];
        }

        await using var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(cancellationToken), ReadIdleTimeout, cancellationToken);
        var bytes = new System.Buffers.ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(bytes.GetMemory(16 * 1024), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                bytes.Advance(read);
                if (bytes.WrittenCount > _options.MaxQueryBytes)
                {
                    throw new DicomWebException(DicomWebError.LimitExceeded,
                        $"the QIDO-RS answer is larger than DicomWeb:MaxQueryBytes ({_options.MaxQueryBytes} bytes)");
                }
            }
        }
        catch (IOException ex)
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, $"the QIDO-RS answer was cut short ({ex.GetType().Name})", inner: ex);
        }

        try
        {
            using var json = JsonDocument.Parse(bytes.WrittenMemory);
            return json.RootElement.ValueKind == JsonValueKind.Array
                ? [.. json.RootElement.EnumerateArray().Select(e => e.Clone())]
                : throw new DicomWebException(DicomWebError.InvalidResponse, "QIDO-RS answer is not a DICOM JSON array");
        }
        catch (JsonException ex)
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, "QIDO-RS answer is not a DICOM JSON array", inner: ex);
        }
    }

    private TimeSpan ReadIdleTimeout => TimeSpan.FromSeconds(_options.ReadIdleTimeoutSeconds);

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
        }, null, cancellationToken);
        foreach (var file in files)
        {
            yield return file;
        }
    }

    /// <summary>
    /// WADO-RS: reads one series part by part and hands each instance's bytes to <paramref name="onPart"/>, which must not keep
    /// them: the buffer is reused for the next part, so a series streams through without an allocation per instance.
    /// Enforces DicomWeb:MaxInstanceBytes and MaxInstancesPerSeries here, and the study's limits through <paramref name="study"/>.
    /// </summary>
    internal System.Threading.Tasks.Task ReadSeriesPartsAsync(Uri server, string studyUid, string seriesUid, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onPart,
        StudyReadBudget? study, CancellationToken cancellationToken) =>
        ReadPartsAsync(server, $"studies/{Uid(studyUid)}/series/{Uid(seriesUid)}", seriesUid, onPart, study, cancellationToken);

    /// <summary>
    /// QIDO-RS at instance level (PS3.18 §10.6): the instances of one series with Instance Number and the keys a dynamic series is
    /// split by (Temporal Position Identifier, Trigger Time, Acquisition Number).
    /// </summary>
    public async Task<IReadOnlyList<QidoInstance>> SearchInstancesAsync(Uri server, string studyUid, string seriesUid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(server, $"studies/{Uid(studyUid)}/series/{Uid(seriesUid)}/instances?includefield=00200013&includefield=00200100&includefield=00181060&includefield=00200012",
            cancellationToken);
        return [.. items.Select(i => FirstString(i, "00080018") is { } sop
            ? new QidoInstance(sop, (int?)FirstNumber(i, "00200013"), FirstNumber(i, "00200100"), FirstNumber(i, "00181060"), FirstNumber(i, "00200012"))
            : null).OfType<QidoInstance>()];
    }

    /// <summary>WADO-RS: one instance (PS3.18 §10.4), within DicomWeb:MaxInstanceBytes and the series timeout, parsed.</summary>
    public async Task<DicomFile> RetrieveInstanceAsync(Uri server, string studyUid, string seriesUid, string sopInstanceUid, CancellationToken cancellationToken)
    {
        DicomFile? file = null;
        await ReadPartsAsync(server, $"studies/{Uid(studyUid)}/series/{Uid(seriesUid)}/instances/{Uid(sopInstanceUid)}", seriesUid, (part, _) =>
        {
            file ??= DicomReader.Read(part.ToArray());
            return ValueTask.CompletedTask;
        }, null, cancellationToken);
        return file ?? throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: the instance retrieval returned no part", seriesUid);
    }

    private async System.Threading.Tasks.Task ReadPartsAsync(Uri server, string relative, string seriesUid, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onPart,
        StudyReadBudget? study, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.SeriesTimeoutSeconds));
        using var request = Get(server, relative, SeriesAccept);
        using var response = await SendAsync(request, seriesUid, timeout.Token);
        var boundary = Boundary(response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var types) ? types.ToString() : null, seriesUid);
        await using var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(timeout.Token), ReadIdleTimeout, timeout.Token, seriesUid);
        // Our own check names the limit first; the reader's is the backstop for a part that lies about its length.
        var reader = new MultipartReader(boundary, body) { BodyLengthLimit = _options.MaxInstanceBytes + 1L };
        using var buffer = new PartBuffer(_options.MaxInstanceBytes);
        var instances = 0;
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

                if (++instances > _options.MaxInstancesPerSeries)
                {
                    throw new DicomWebException(DicomWebError.LimitExceeded,
                        $"series {seriesUid} has more than DicomWeb:MaxInstancesPerSeries ({_options.MaxInstancesPerSeries}) instances", seriesUid);
                }

                study?.AddInstance(seriesUid);
                length = await ReadPartAsync(section, buffer, seriesUid, timeout.Token);
                study?.AddBytes(length, seriesUid);
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
                throw new DicomWebException(DicomWebError.Unreachable, $"series {seriesUid} did not arrive within DicomWeb:SeriesTimeoutSeconds ({_options.SeriesTimeoutSeconds} s)", seriesUid, inner: ex);
            }

            await onPart(buffer.Memory(length), timeout.Token);
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
    /// Loads a study into phase volumes: resolves and checks the server, asks it (QIDO-RS) for the study's date and its MR series,
    /// streams each series and assembles the result. The server's own series list is used: series the ImagingStudy lists that the
    /// server does not have are named in <see cref="StudyImagingResult.SkippedVolumes"/> (<see cref="ImagingRefusalReason.SeriesNotOnServer"/>);
    /// the ImagingStudy's list is used only when the server cannot answer the query. A series the server cannot deliver (HTTP 5xx,
    /// for example JPEG 2000 that it cannot transcode) becomes a refusal naming the series; a series or study beyond a DicomWeb
    /// limit becomes a <see cref="ImagingRefusalReason.TooLarge"/> refusal naming the limit.
    /// </summary>
    public async Task<StudyImagingResult> LoadStudyAsync(ImagingStudyReference study, PhaseRules rules, ImageInputSpec spec, DateOnly? referenceDate,
        CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("dicomweb.load-study");
        var server = ResolveServer(study);
        var (listed, missing, studyDate, noSeries) = await FindSeriesAsync(server, study, cancellationToken);
        if (listed.Count == 0)
        {
            return new StudyImagingResult([], [new ImagingRefusal(ImagingRefusalReason.NoMrSeries, null, null, noSeries!)], missing, null) { StudyDate = studyDate };
        }

        if (listed.Count > _options.MaxSeriesPerStudy)
        {
            return new StudyImagingResult([], [new ImagingRefusal(ImagingRefusalReason.TooLarge, null, null,
                $"the study has {listed.Count} MR series, more than DicomWeb:MaxSeriesPerStudy ({_options.MaxSeriesPerStudy})")], missing, null) { StudyDate = studyDate };
        }

        // Series are retrieved DicomWeb:ParallelSeries at a time, so the server prepares one while this side parses another;
        // each series keeps its own list, joined in the study's order.
        var budget = new StudyReadBudget(_options);
        var perSeries = new List<ImagingSlice>[listed.Count];
        var failures = new ImagingRefusal?[listed.Count];
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, listed.Count),
                new ParallelOptions { MaxDegreeOfParallelism = _options.ParallelSeries, CancellationToken = cancellationToken },
                async (index, ct) =>
                {
                    var seriesUid = listed[index];
                    var list = perSeries[index] = [];
                    try
                    {
                        // Each instance is reduced to the model grid as it arrives (ImagingSlice copies what it needs), so its bytes are reused.
                        await ReadSeriesPartsAsync(server, study.StudyInstanceUid, seriesUid, (part, _) =>
                        {
                            var (file, error) = Parse(part);
                            list.Add(file is not null
                                ? ImagingSlice.FromDataset(file.Dataset, spec)
                                : new ImagingSlice { SeriesInstanceUid = seriesUid, Modality = "MR", PixelProblem = error!.Message });
                            return ValueTask.CompletedTask;
                        }, budget, ct);
                    }
                    catch (DicomWebException ex) when (ex.Error is DicomWebError.HttpError && ex.StatusCode == 404)
                    {
                        // Listed (by QIDO or the ImagingStudy) but not delivered: the server does not have it; not a failure that passes.
                        list.Clear();
                        failures[index] = new ImagingRefusal(ImagingRefusalReason.SeriesNotOnServer, seriesUid, null, "the DICOMweb server does not have this series (HTTP 404)");
                    }
                    catch (DicomWebException ex) when (ex.Error is DicomWebError.HttpError or DicomWebError.InvalidResponse)
                    {
                        LogSeriesFailed(logger, ex.StatusCode ?? 0, ex.Error.ToString());
                        list.Clear();
                        failures[index] = new ImagingRefusal(ImagingRefusalReason.ServerError, seriesUid, null, ex.Message);
                    }
                    catch (DicomWebException ex) when (ex.Error is DicomWebError.LimitExceeded && !ex.WholeStudy)
                    {
                        LogLimitExceeded(logger, "series");
                        list.Clear();
                        failures[index] = new ImagingRefusal(ImagingRefusalReason.TooLarge, seriesUid, null, ex.Message);
                    }
                });
        }
        catch (DicomWebException ex) when (ex.Error is DicomWebError.LimitExceeded && ex.WholeStudy)
        {
            // The whole study is beyond a limit: what was read so far is dropped at once, and the study is refused naming the limit.
            LogLimitExceeded(logger, "study");
            Array.Clear(perSeries);
            return new StudyImagingResult([], [new ImagingRefusal(ImagingRefusalReason.TooLarge, null, null, ex.Message)], missing, null) { StudyDate = studyDate };
        }

        var slices = perSeries.SelectMany(l => l).ToList();
        var serverRefusals = failures.OfType<ImagingRefusal>().ToList();

        var result = StudyAssembler.Assemble(slices, rules, spec, referenceDate, studyDate);
        activity?.SetTag("dicomweb.series", listed.Count);
        activity?.SetTag("dicomweb.instances", slices.Count);
        activity?.SetTag("dicomweb.bytes", budget.Bytes);
        activity?.SetTag("imaging.accepted", result.IsAccepted);
        var setAside = serverRefusals.Concat(missing).ToList();
        if (setAside.Count == 0)
        {
            return result;
        }

        // A series the server could not send is fatal only when a phase is missing; otherwise it is listed with the skipped volumes.
        var fatal = serverRefusals.Where(r => r.Reason != ImagingRefusalReason.SeriesNotOnServer).ToList();
        return result.IsAccepted || fatal.Count == 0
            ? result with { SkippedVolumes = [.. result.SkippedVolumes, .. setAside] }
            : result with { Refusals = [.. fatal, .. result.Refusals], SkippedVolumes = [.. result.SkippedVolumes, .. setAside] };
    }

    /// <summary>
    /// The series to read: the MR series the server has (QIDO-RS), else, when the server cannot answer that query, those the
    /// ImagingStudy lists; the listed series the server does not have; the Study Date; and, when there is nothing to read, why.
    /// </summary>
    private async Task<(IReadOnlyList<string> Series, IReadOnlyList<ImagingRefusal> Missing, DateOnly? StudyDate, string? NoSeries)> FindSeriesAsync(
        Uri server, ImagingStudyReference study, CancellationToken cancellationToken)
    {
        var studyQuery = SearchStudyAsync(server, study.StudyInstanceUid, cancellationToken);
        var seriesQuery = SearchMrSeriesAsync(server, study.StudyInstanceUid, cancellationToken);
        try
        {
            await System.Threading.Tasks.Task.WhenAll(studyQuery, seriesQuery);
        }
        catch (DicomWebException)
        {
            // Each query's failure is looked at below.
        }

        (bool Found, DateOnly? Date)? found = null;
        try
        {
            found = await studyQuery;
        }
        catch (DicomWebException ex) when (ex.Error is DicomWebError.HttpError or DicomWebError.InvalidResponse)
        {
            // A server without study-level QIDO: the date comes from the instances, and the series query decides.
        }

        IReadOnlyList<string> onServer;
        try
        {
            onServer = (await seriesQuery).Select(s => s.SeriesInstanceUid).Distinct(StringComparer.Ordinal).ToList();
        }
        catch (DicomWebException ex) when (ex.Error is DicomWebError.HttpError or DicomWebError.InvalidResponse && study.SeriesInstanceUids.Count > 0)
        {
            LogSeriesQueryFailed(logger, ex.StatusCode ?? 0, ex.Error.ToString());
            return (study.SeriesInstanceUids, [], found?.Date, null);
        }

        var have = onServer.ToHashSet(StringComparer.Ordinal);
        var missing = study.SeriesInstanceUids.Where(uid => !have.Contains(uid)).Distinct(StringComparer.Ordinal)
            .Select(uid => new ImagingRefusal(ImagingRefusalReason.SeriesNotOnServer, uid, null,
                "listed in the ImagingStudy but not among the MR series the DICOMweb server has for this study"))
            .ToList();
        var noSeries = onServer.Count > 0 ? null
            : found is { Found: false } ? $"the DICOMweb server has no study {study.StudyInstanceUid}"
            : $"the DICOMweb server lists no MR series for study {study.StudyInstanceUid}";
        return (onServer, missing, found?.Date, noSeries);
    }

    /// <summary>
    /// Reads one part into <paramref name="buffer"/>, whatever its declared Content-Length says (a part may lie about it), and
    /// never beyond DicomWeb:MaxInstanceBytes.
    /// </summary>
    private async Task<int> ReadPartAsync(MultipartSection section, PartBuffer buffer, string seriesUid, CancellationToken cancellationToken)
    {
        long? declared = section.Headers is { } headers && headers.TryGetValue("Content-Length", out var values)
            && long.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        if (declared > _options.MaxInstanceBytes)
        {
            throw new DicomWebException(DicomWebError.LimitExceeded,
                $"series {seriesUid}: an instance of {declared} bytes exceeds DicomWeb:MaxInstanceBytes ({_options.MaxInstanceBytes})", seriesUid);
        }

        buffer.EnsureCapacity((int)(declared ?? 0));
        var length = 0;
        while (true)
        {
            if (length == buffer.Capacity && !buffer.TryGrow())
            {
                // Full at the limit: one more byte means the part is too large.
                if (await section.Body.ReadAsync(new byte[1], cancellationToken) == 0)
                {
                    break;
                }

                throw new DicomWebException(DicomWebError.LimitExceeded,
                    $"series {seriesUid}: an instance exceeds DicomWeb:MaxInstanceBytes ({_options.MaxInstanceBytes}) bytes", seriesUid);
            }

            var read = await section.Body.ReadAsync(buffer.Free(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        if (declared is { } d && d != length)
        {
            throw new DicomWebException(DicomWebError.InvalidResponse, $"series {seriesUid}: a part declares {d} bytes (Content-Length) and carries {length}", seriesUid);
        }

        return length;
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
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            // The breaker is this server's alone (SelectPipelineByAuthority): other servers are still asked.
            throw new DicomWebException(DicomWebError.Unreachable,
                $"DICOMweb server {request.RequestUri!.GetLeftPart(UriPartial.Authority)} has been failing; requests to it are paused (circuit open, up to DicomWeb:CircuitBreakSeconds = {_options.CircuitBreakSeconds} s)",
                seriesUid, inner: ex);
        }

        var what = seriesUid is null ? "the query" : $"series {seriesUid}";
        if ((int)response.StatusCode is >= 300 and < 400)
        {
            // Redirects are never followed (the handler has AllowAutoRedirect = false): the target could be a host outside
            // DicomWeb:AllowedServers, and the Authorization header would go with it.
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new DicomWebException(DicomWebError.HttpError,
                $"the DICOMweb server answered {what} with a redirect (HTTP {status}); redirects are not followed: configure the server's final address in DicomWeb:AllowedServers",
                seriesUid, status);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
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

    /// <summary>The first value of a numeric attribute (IS/DS come as JSON numbers, PS3.18 §F.2.3; some servers send strings).</summary>
    private static double? FirstNumber(JsonElement item, string tag) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(tag, out var attribute) && attribute.ValueKind == JsonValueKind.Object
        && attribute.TryGetProperty("Value", out var value) && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
            ? value[0].ValueKind == JsonValueKind.Number && value[0].TryGetDouble(out var n) && double.IsFinite(n) && Math.Abs(n) < 1e9 ? n
            : value[0].ValueKind == JsonValueKind.String && double.TryParse(value[0].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && double.IsFinite(t) && Math.Abs(t) < 1e9 ? t
            : null
            : null;

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "DICOMweb series query failed (HTTP {Status}, {Error}); using the series the ImagingStudy lists")]
    private static partial void LogSeriesQueryFailed(ILogger logger, int status, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DICOMweb {Scope} refused: beyond a DicomWeb read limit")]
    private static partial void LogLimitExceeded(ILogger logger, string scope);
}

/// <summary>One instance as QIDO-RS lists it.</summary>
public sealed record QidoInstance(string SopInstanceUid, int? InstanceNumber, double? TemporalPositionIdentifier, double? TriggerTime, double? AcquisitionNumber)
{
    /// <summary>Whether the instance is of a time point as the assembler names it (<c>TemporalPositionIdentifier=3</c>, <c>TriggerTime=…</c>, <c>AcquisitionNumber=…</c>).</summary>
    public bool TimePoint(string timePoint)
    {
        var eq = timePoint.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0 || !double.TryParse(timePoint.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return false;
        double? mine = timePoint[..eq] switch
        {
            "TemporalPositionIdentifier" => TemporalPositionIdentifier,
            "TriggerTime" => TriggerTime,
            "AcquisitionNumber" => AcquisitionNumber,
            _ => null,
        };
        return mine == value;
    }
}
