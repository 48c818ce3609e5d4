"""A stateful emulator of the Azure Service Management API (Cloud Services, classic).

The classic API can no longer be called, so the project ships this faithful replacement: an HTTPS
server with management-certificate authentication that speaks the documented XML, keeps hosted
services and deployments, moves upgrades across upgrade domains on a clock, and answers with the
documented status codes and errors (see shared/reference/service-management-api.md). It is a
product in its own right (`cloudservice-operator emulator`), the embedded default of the sandbox,
and what every integration test talks to.

Implemented operations, each with the OperationName that List Subscription Operations reports
(`…` = `/<sub>/services/hostedservices/<svc>`; `<d>` = `deploymentslots/<slot>` or
`deployments/<name>`, both URI forms; a trailing slash before `?comp=` is optional):

    Create Hosted Service            POST   /<sub>/services/hostedservices    CreateHostedService (201)
    Get Hosted Service Properties    GET    …[?embed-detail=true]             GetHostedServiceProperties
    Delete Hosted Service            DELETE …[?comp=media]                    DeleteHostedService
    Create Deployment                POST   …/deploymentslots/<slot>          CreateDeployment
    Get Deployment                   GET    …/<d>                             GetDeployment
    Delete Deployment                DELETE …/<d>                             DeleteDeployment
    Upgrade Deployment               POST   …/<d>?comp=upgrade                UpgradeDeployment
    Change Deployment Configuration  POST   …/<d>?comp=config                 ChangeDeploymentConfiguration
    Walk Upgrade Domain              POST   …/<d>?comp=walkupgradedomain      WalkUpgradeDomain
    Rollback Update Or Upgrade       POST   …/<d>?comp=rollback              RollbackDeploymentUpdateOrUpgrade
                                                                              (answers 200, not 202)
    Update Deployment Status         POST   …/<d>?comp=status                 UpdateDeploymentStatus
    Reboot Role Instance             POST   …/<d>/roleinstances/<i>?comp=reboot    RebootRoleInstance
    Reimage Role Instance            POST   …/<d>/roleinstances/<i>?comp=reimage   ReimageRoleInstance
    Rebuild Role Instance            POST   …/<d>/roleinstances/<i>?comp=rebuild&resources=allLocalDrives
                                                                              RebuildRoleInstance
    Get Operation Status             GET    /<sub>/operations/<request-id>    GetOperationStatus
    List Subscription Operations     GET    /<sub>/operations?StartTime&EndTime…   ListSubscriptionOperations

Asynchronous operations answer 202 and are followed with Get Operation Status.

Other addresses of the real API (List Hosted Services, Get Subscription, Update Hosted Service,
Swap, Delete Role Instances) answer 501 NotImplemented. The admin API (JSON under `/emulator/`)
is documented in `admin.py`.

Modules, from the wire inwards:

    server.py     EmulatorServer: certificates, TLS (client certificate optional), the aiohttp runner
    cli.py        `cloudservice-operator emulator`
    app.py        the HTTP pipeline: auth, version, routing, faults, handler, headers, request log
    admin.py      the admin API over control.py (seed, faults, packages, timings, clock, reset)
    routing.py    method + path + comp -> operation and target (both URI forms)
    ops/          one handler per operation; views.py renders state as wire documents
    backend.py    one method per operation: state rules, operation records, hand-off to the fabric
    fabric.py     updates across upgrade domains, instance operations, topology changes
    progress.py   the clock-driven scheduler and instance state sequences
    state.py      typed state (subscriptions, services, deployments, instances, revisions)
    records.py    asynchronous operation records; requestlog.py: the mutating-request log
    errors.py     one exception class per remote error code, rendered in one place
    faults.py, behaviours.py, timings.py, clock.py, cscfg.py, validation.py, versions.py, certs.py
"""
