using System.Text.Json;
using CdsRisk.Api.Diagnostics;
using CodeableConcept = Hl7.Fhir.Model.CodeableConcept;
using OperationOutcome = Hl7.Fhir.Model.OperationOutcome;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.Hooks;

/// <summary>The one exception handler: every error becomes problem details with a stable code (or a FHIR OperationOutcome for 412); nothing about bad input becomes a 500.</summary>
public sealed class CdsRiskExceptionHandler(ILogger<CdsRiskExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is RequiredDataUnavailableException missing)
        {
            logger.RequiredDataUnavailable(missing.Issues.Count);
            await WriteOperationOutcomeAsync(httpContext, missing, cancellationToken);
            return true;
        }

        var (error, detail, errors) = exception switch
        {
            CdsRiskException e => (e.Error, e.Message, e.Errors),
            BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => (ErrorCodes.UnsupportedMediaType, "Send the body as application/json.", null),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (ErrorCodes.PayloadTooLarge, "The request body exceeds the server's limit.", null),
            BadHttpRequestException { InnerException: JsonException json } => (ErrorCodes.MalformedBody, DescribeJsonError(json), JsonErrors(json)),
            BadHttpRequestException bad when bad.StatusCode < 500 => (ErrorCodes.BadRequest, "The request body is missing or could not be read.", null),
            JsonException json => (ErrorCodes.MalformedBody, DescribeJsonError(json), JsonErrors(json)),
            InvalidOperationException { InnerException: System.Text.DecoderFallbackException } => (ErrorCodes.MalformedBody, "The body is not valid UTF-8.", null),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (ErrorCodes.BadRequest, "The client closed the request.", null),
            _ => (ErrorCodes.Internal, "An unexpected error occurred; see the server log for this trace id.", (IDictionary<string, string[]>?)null),
        };

        if (error == ErrorCodes.Internal)
        {
            logger.UnhandledException(exception.GetType().Name, httpContext.TraceIdentifier, exception);
        }
        else
        {
            logger.RequestRejected(error.Code, error.Status);
        }

        await WriteProblemAsync(httpContext, error, detail, errors);
        return true;
    }

    public static Task WriteProblemAsync(HttpContext httpContext, ErrorCode error, string detail, IDictionary<string, string[]>? errors = null)
    {
        IResult result = errors is { Count: > 0 }
            ? TypedResults.ValidationProblem(errors, detail, title: error.Title, type: error.Type, extensions: Extensions(httpContext, error))
            : TypedResults.Problem(detail, statusCode: error.Status, title: error.Title, type: error.Type, extensions: Extensions(httpContext, error));
        if (result is ValidationProblem && error.Status != StatusCodes.Status400BadRequest)
        {
            // Not a validation problem, but still naming the field (e.g. 409 for a reused hookInstance).
            var extensions = Extensions(httpContext, error);
            extensions["errors"] = errors;
            result = TypedResults.Problem(detail, statusCode: error.Status, title: error.Title, type: error.Type, extensions: extensions);
        }

        httpContext.Response.StatusCode = error.Status;
        return result.ExecuteAsync(httpContext);
    }

    public static Dictionary<string, object?> Extensions(HttpContext httpContext, ErrorCode error) => new()
    {
        ["code"] = error.Code,
        ["traceId"] = httpContext.TraceIdentifier,
    };

    private static async Task WriteOperationOutcomeAsync(HttpContext httpContext, RequiredDataUnavailableException missing, CancellationToken cancellationToken)
    {
        var outcome = new OperationOutcome();
        foreach (var issue in missing.Issues)
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = OperationOutcome.IssueType.NotFound,
                Details = new CodeableConcept(ErrorCode.TypeBase, missing.Error.Code, missing.Error.Title),
                Diagnostics = issue,
            });
        }

        httpContext.Response.StatusCode = StatusCodes.Status412PreconditionFailed;
        httpContext.Response.ContentType = "application/fhir+json";
        await httpContext.Response.WriteAsync(outcome.ToJson(), cancellationToken);
    }

    private static string DescribeJsonError(JsonException json) =>
        json.Path is { Length: > 0 } path ? $"Invalid JSON at {path}." : "The body is not valid JSON.";

    private static Dictionary<string, string[]>? JsonErrors(JsonException json)
    {
        var field = WirePath.FromJsonPath(json.Path);
        return field is null ? null : new Dictionary<string, string[]> { [field] = ["Not valid JSON for this field (wrong type or malformed value)."] };
    }
}
