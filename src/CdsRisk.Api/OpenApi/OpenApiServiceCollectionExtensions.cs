using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace CdsRisk.Api.OpenApi;

public static class OpenApiServiceCollectionExtensions
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/swagger/v1/swagger.json";

    /// <summary>The Swashbuckle document (committed as openapi/cdsrisk.openapi.json).</summary>
    public static IServiceCollection AddCdsRiskOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "CdsRisk — CDS Hooks 2.0 service for trial NCT07282184",
                Version = "v1",
                Description = "Discovery, service calls and feedback per CDS Hooks 2.0. Every card carries the `cdsrisk` extension "
                    + "(outcome, preScore, model, criteria keyed by id). Every /cds-services call needs the CDS Client's JWT "
                    + "(CDS Hooks 2.0 §Trusting CDS Clients).",
            });
            o.SupportNonNullableReferenceTypes();
            o.SchemaFilter<AllowedValuesSchemaFilter>();
            o.AddSecurityDefinition("cdsClientJwt", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A JWT signed by a trusted CDS Client (ES256/384/512, RS256/384/512 or PS256/384/512), aud = the URL called.",
            });
            o.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("cdsClientJwt", document)] = [] });
            var xml = Path.Combine(AppContext.BaseDirectory, typeof(OpenApiServiceCollectionExtensions).Assembly.GetName().Name + ".xml");
            if (File.Exists(xml))
            {
                o.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>The document at /swagger/v1/swagger.json and Swagger UI at /swagger.</summary>
    public static WebApplication UseCdsRiskOpenApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(o => o.SwaggerEndpoint(DocumentPath, "CdsRisk v1"));
        return app;
    }
}

/// <summary>Puts the wire values of <see cref="AllowedValuesAttribute"/> members (outcome, status) into the schema as an enum.</summary>
internal sealed class AllowedValuesSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema concrete)
        {
            return;
        }

        if (context.MemberInfo?.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed)
        {
            concrete.Enum = [.. allowed.Values.Select(v => (JsonNode)JsonValue.Create((string)v!)!)];
        }

        // CDS Hooks 2.0 §Extensions: unknown members are accepted everywhere, so no wire object forbids additional properties.
        if (concrete.AdditionalProperties is null && context.Type.Assembly == typeof(AllowedValuesSchemaFilter).Assembly)
        {
            concrete.AdditionalPropertiesAllowed = true;
        }
    }
}
