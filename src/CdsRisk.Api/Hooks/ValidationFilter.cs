using FluentValidation;

namespace CdsRisk.Api.Hooks;

/// <summary>Runs the FluentValidation validator of the endpoint's <typeparamref name="T"/> argument; a failure is a 400 validation problem naming every bad field by its JSON path.</summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
        if (argument is null)
        {
            throw new CdsRiskException(ErrorCodes.BadRequest, "The request body is missing.");
        }

        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted);
        if (!result.IsValid)
        {
            var errors = result.Errors
                .GroupBy(e => e.PropertyName.StartsWith("prefetch.", StringComparison.Ordinal) ? e.PropertyName : WirePath.FromPropertyPath(e.PropertyName), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
            return TypedResults.ValidationProblem(
                errors,
                detail: "Fields invalid: " + string.Join(", ", errors.Keys) + ".",
                title: ErrorCodes.ValidationFailed.Title,
                type: ErrorCodes.ValidationFailed.Type,
                extensions: CdsRiskExceptionHandler.Extensions(context.HttpContext, ErrorCodes.ValidationFailed));
        }

        return await next(context);
    }
}

/// <summary>404 before anything else when the route names no known service.</summary>
public sealed class KnownServiceFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var id = context.HttpContext.GetRouteValue("id") as string;
        if (id is null || CdsServiceCatalog.Find(id) is null)
        {
            throw new CdsRiskException(ErrorCodes.UnknownService, "No CDS Service with this id; GET /cds-services lists them.");
        }

        return next(context);
    }
}
