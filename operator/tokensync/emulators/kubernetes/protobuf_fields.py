"""Field tables of the Kubernetes protobuf messages the emulator reads (``protobuf.py`` decodes them).

Facts only, transcribed from the published ``generated.proto`` files (field numbers, proto types,
repeated/map) of k8s.io/api and k8s.io/apimachinery at v0.32.9, the Kubernetes 1.32 the emulator
reports; JSON names and ``omitempty``/pointer/inline come from the ``json`` struct tags of the same
types (``types.go``), because a decoded body must be the object that Go's ``json.Marshal`` would
have sent. Each entry is keyed by its proto message name (the package is in the comment above each
group; a package prefix such as ``core.`` or ``events.`` tells apart messages of the same name).

One token per field, ``<number>.<json name><flags>[:<type>]``:

- type: ``s`` string (the default), ``i`` varint integer, ``b`` bool, ``y`` bytes (base64 in
  JSON), a message name, or one of the special messages ``Time``, ``MicroTime``, ``Quantity``,
  ``IntOrString``, ``FieldsV1``, ``RawExtension``, ``ExtraValue``; ``[]`` before it: repeated;
  ``{}``: a map with string keys;
- name ``^``: an embedded struct inlined into its parent in JSON (``json:",inline"``);
- ``*``: a Go pointer (encoded only when set; JSON has it exactly when the wire has it);
- ``!``: no ``omitempty`` (JSON has the zero value, or ``null`` for a nil list, map or pointer).

A message field without ``*`` is a Go struct: JSON always has it (``{}`` when empty), as Go does.
To add a message: its numbers and types from generated.proto, its tags from types.go.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # k8s.io.api.core.v1: k8s.io/api core/v1/generated.proto
    "Binding": "1.metadata:ObjectMeta 2.target:ObjectReference",
    "ComponentStatus": "1.metadata:ObjectMeta 2.conditions:[]ComponentCondition",
    "ConfigMap": "1.metadata:ObjectMeta 4.immutable*:b 2.data:{}s 3.binaryData:{}y",
    "Endpoints": "1.metadata:ObjectMeta 2.subsets:[]EndpointSubset",
    "core.Event": (
        "1.metadata:ObjectMeta 2.involvedObject:ObjectReference 3.reason 4.message 5.source:EventSource "
        "6.firstTimestamp:Time 7.lastTimestamp:Time 8.count:i 9.type 10.eventTime:MicroTime "
        "11.series*:core.EventSeries 12.action 13.related*:ObjectReference 14.reportingComponent! "
        "15.reportingInstance!"),
    "LimitRange": "1.metadata:ObjectMeta 2.spec:LimitRangeSpec",
    "Namespace": "1.metadata:ObjectMeta 2.spec:NamespaceSpec 3.status:NamespaceStatus",
    "Node": "1.metadata:ObjectMeta 2.spec:NodeSpec 3.status:NodeStatus",
    "PersistentVolumeClaim": (
        "1.metadata:ObjectMeta 2.spec:PersistentVolumeClaimSpec 3.status:PersistentVolumeClaimStatus"),
    "PersistentVolume": "1.metadata:ObjectMeta 2.spec:PersistentVolumeSpec 3.status:PersistentVolumeStatus",
    "Pod": "1.metadata:ObjectMeta 2.spec:PodSpec 3.status:PodStatus",
    "PodTemplate": "1.metadata:ObjectMeta 2.template:PodTemplateSpec",
    "ReplicationController": (
        "1.metadata:ObjectMeta 2.spec:ReplicationControllerSpec 3.status:ReplicationControllerStatus"),
    "ResourceQuota": "1.metadata:ObjectMeta 2.spec:ResourceQuotaSpec 3.status:ResourceQuotaStatus",
    "Secret": "1.metadata:ObjectMeta 5.immutable*:b 2.data:{}y 4.stringData:{}s 3.type",
    "ServiceAccount": (
        "1.metadata:ObjectMeta 2.secrets:[]ObjectReference 3.imagePullSecrets:[]LocalObjectReference "
        "4.automountServiceAccountToken*:b"),
    "Service": "1.metadata:ObjectMeta 2.spec:ServiceSpec 3.status:ServiceStatus",
    "ObjectReference": "1.kind 2.namespace 3.name 4.uid 5.apiVersion 6.resourceVersion 7.fieldPath",
    "ComponentCondition": "1.type! 2.status! 3.message 4.error",
    "EndpointSubset": "1.addresses:[]EndpointAddress 2.notReadyAddresses:[]EndpointAddress 3.ports:[]core.EndpointPort",
    "EventSource": "1.component 2.host",
    "core.EventSeries": "1.count:i 2.lastObservedTime:MicroTime",
    "LimitRangeSpec": "1.limits!:[]LimitRangeItem",
    "NamespaceSpec": "1.finalizers:[]s",
    "NamespaceStatus": "1.phase 2.conditions:[]NamespaceCondition",
    "NodeSpec": (
        "1.podCIDR 7.podCIDRs:[]s 3.providerID 4.unschedulable:b 5.taints:[]Taint 6.configSource*:NodeConfigSource "
        "2.externalID"),
    "NodeStatus": (
        "1.capacity:{}Quantity 2.allocatable:{}Quantity 3.phase 4.conditions:[]NodeCondition "
        "5.addresses:[]NodeAddress 6.daemonEndpoints:NodeDaemonEndpoints 7.nodeInfo:NodeSystemInfo "
        "8.images:[]ContainerImage 9.volumesInUse:[]s 10.volumesAttached:[]AttachedVolume "
        "11.config*:NodeConfigStatus 12.runtimeHandlers:[]NodeRuntimeHandler 13.features*:NodeFeatures"),
    "PersistentVolumeClaimSpec": (
        "1.accessModes:[]s 4.selector*:LabelSelector 2.resources:VolumeResourceRequirements 3.volumeName "
        "5.storageClassName* 6.volumeMode* 7.dataSource*:TypedLocalObjectReference "
        "8.dataSourceRef*:TypedObjectReference 9.volumeAttributesClassName*"),
    "PersistentVolumeClaimStatus": (
        "1.phase 2.accessModes:[]s 3.capacity:{}Quantity 4.conditions:[]PersistentVolumeClaimCondition "
        "5.allocatedResources:{}Quantity 7.allocatedResourceStatuses:{}s 8.currentVolumeAttributesClassName* "
        "9.modifyVolumeStatus*:ModifyVolumeStatus"),
    "PersistentVolumeSpec": (
        "1.capacity:{}Quantity 2.^:PersistentVolumeSource 3.accessModes:[]s 4.claimRef*:ObjectReference "
        "5.persistentVolumeReclaimPolicy 6.storageClassName 7.mountOptions:[]s 8.volumeMode* "
        "9.nodeAffinity*:VolumeNodeAffinity 10.volumeAttributesClassName*"),
    "PersistentVolumeStatus": "1.phase 2.message 3.reason 4.lastPhaseTransitionTime*:Time",
    "PodSpec": (
        "1.volumes:[]Volume 20.initContainers:[]Container 2.containers!:[]Container "
        "34.ephemeralContainers:[]EphemeralContainer 3.restartPolicy 4.terminationGracePeriodSeconds*:i "
        "5.activeDeadlineSeconds*:i 6.dnsPolicy 7.nodeSelector:{}s 8.serviceAccountName 9.serviceAccount "
        "21.automountServiceAccountToken*:b 10.nodeName 11.hostNetwork:b 12.hostPID:b 13.hostIPC:b "
        "27.shareProcessNamespace*:b 14.securityContext*:PodSecurityContext "
        "15.imagePullSecrets:[]LocalObjectReference 16.hostname 17.subdomain 18.affinity*:Affinity 19.schedulerName "
        "22.tolerations:[]Toleration 23.hostAliases:[]HostAlias 24.priorityClassName 25.priority*:i "
        "26.dnsConfig*:PodDNSConfig 28.readinessGates:[]PodReadinessGate 29.runtimeClassName* "
        "30.enableServiceLinks*:b 31.preemptionPolicy* 32.overhead:{}Quantity "
        "33.topologySpreadConstraints:[]TopologySpreadConstraint 35.setHostnameAsFQDN*:b 36.os*:PodOS "
        "37.hostUsers*:b 38.schedulingGates:[]PodSchedulingGate 39.resourceClaims:[]PodResourceClaim "
        "40.resources*:ResourceRequirements"),
    "PodStatus": (
        "1.phase 2.conditions:[]PodCondition 3.message 4.reason 11.nominatedNodeName 5.hostIP 16.hostIPs:[]HostIP "
        "6.podIP 12.podIPs:[]PodIP 7.startTime*:Time 10.initContainerStatuses:[]ContainerStatus "
        "8.containerStatuses:[]ContainerStatus 9.qosClass 13.ephemeralContainerStatuses:[]ContainerStatus 14.resize "
        "15.resourceClaimStatuses:[]PodResourceClaimStatus"),
    "PodTemplateSpec": "1.metadata:ObjectMeta 2.spec:PodSpec",
    "ReplicationControllerSpec": "1.replicas*:i 4.minReadySeconds:i 2.selector:{}s 3.template*:PodTemplateSpec",
    "ReplicationControllerStatus": (
        "1.replicas!:i 2.fullyLabeledReplicas:i 4.readyReplicas:i 5.availableReplicas:i 3.observedGeneration:i "
        "6.conditions:[]ReplicationControllerCondition"),
    "ResourceQuotaSpec": "1.hard:{}Quantity 2.scopes:[]s 3.scopeSelector*:ScopeSelector",
    "ResourceQuotaStatus": "1.hard:{}Quantity 2.used:{}Quantity",
    "LocalObjectReference": "1.name",
    "ServiceSpec": (
        "1.ports:[]ServicePort 2.selector:{}s 3.clusterIP 18.clusterIPs:[]s 4.type 5.externalIPs:[]s "
        "7.sessionAffinity 8.loadBalancerIP 9.loadBalancerSourceRanges:[]s 10.externalName 11.externalTrafficPolicy "
        "12.healthCheckNodePort:i 13.publishNotReadyAddresses:b 14.sessionAffinityConfig*:SessionAffinityConfig "
        "19.ipFamilies:[]s 17.ipFamilyPolicy* 20.allocateLoadBalancerNodePorts*:b 21.loadBalancerClass* "
        "22.internalTrafficPolicy* 23.trafficDistribution*"),
    "ServiceStatus": "1.loadBalancer:LoadBalancerStatus 2.conditions:[]Condition",
    "TopologySelectorTerm": "1.matchLabelExpressions:[]TopologySelectorLabelRequirement",
    "EndpointAddress": "1.ip! 3.hostname 4.nodeName* 2.targetRef*:ObjectReference",
    "core.EndpointPort": "1.name 2.port!:i 3.protocol 4.appProtocol*",
    "LimitRangeItem": (
        "1.type! 2.max:{}Quantity 3.min:{}Quantity 4.default:{}Quantity 5.defaultRequest:{}Quantity "
        "6.maxLimitRequestRatio:{}Quantity"),
    "NamespaceCondition": "1.type! 2.status! 4.lastTransitionTime:Time 5.reason 6.message",
    "Taint": "1.key! 2.value 3.effect! 4.timeAdded*:Time",
    "NodeConfigSource": "2.configMap*:ConfigMapNodeConfigSource",
    "NodeCondition": "1.type! 2.status! 3.lastHeartbeatTime:Time 4.lastTransitionTime:Time 5.reason 6.message",
    "NodeAddress": "1.type! 2.address!",
    "NodeDaemonEndpoints": "1.kubeletEndpoint:DaemonEndpoint",
    "NodeSystemInfo": (
        "1.machineID! 2.systemUUID! 3.bootID! 4.kernelVersion! 5.osImage! 6.containerRuntimeVersion! "
        "7.kubeletVersion! 8.kubeProxyVersion! 9.operatingSystem! 10.architecture!"),
    "ContainerImage": "1.names!:[]s 2.sizeBytes:i",
    "AttachedVolume": "1.name! 2.devicePath!",
    "NodeConfigStatus": (
        "1.assigned*:NodeConfigSource 2.active*:NodeConfigSource 3.lastKnownGood*:NodeConfigSource 4.error"),
    "NodeRuntimeHandler": "1.name! 2.features*:NodeRuntimeHandlerFeatures",
    "NodeFeatures": "1.supplementalGroupsPolicy*:b",
    "VolumeResourceRequirements": "1.limits:{}Quantity 2.requests:{}Quantity",
    "TypedLocalObjectReference": "1.apiGroup*! 2.kind! 3.name!",
    "TypedObjectReference": "1.apiGroup*! 2.kind! 3.name! 4.namespace*",
    "PersistentVolumeClaimCondition": (
        "1.type! 2.status! 3.lastProbeTime:Time 4.lastTransitionTime:Time 5.reason 6.message"),
    "ModifyVolumeStatus": "1.targetVolumeAttributesClassName 2.status!",
    "PersistentVolumeSource": (
        "1.gcePersistentDisk*:GCEPersistentDiskVolumeSource "
        "2.awsElasticBlockStore*:AWSElasticBlockStoreVolumeSource 3.hostPath*:HostPathVolumeSource "
        "4.glusterfs*:GlusterfsPersistentVolumeSource 5.nfs*:NFSVolumeSource 6.rbd*:RBDPersistentVolumeSource "
        "7.iscsi*:ISCSIPersistentVolumeSource 8.cinder*:CinderPersistentVolumeSource "
        "9.cephfs*:CephFSPersistentVolumeSource 10.fc*:FCVolumeSource 11.flocker*:FlockerVolumeSource "
        "12.flexVolume*:FlexPersistentVolumeSource 13.azureFile*:AzureFilePersistentVolumeSource "
        "14.vsphereVolume*:VsphereVirtualDiskVolumeSource 15.quobyte*:QuobyteVolumeSource "
        "16.azureDisk*:AzureDiskVolumeSource 17.photonPersistentDisk*:PhotonPersistentDiskVolumeSource "
        "18.portworxVolume*:PortworxVolumeSource 19.scaleIO*:ScaleIOPersistentVolumeSource "
        "20.local*:LocalVolumeSource 21.storageos*:StorageOSPersistentVolumeSource "
        "22.csi*:CSIPersistentVolumeSource"),
    "VolumeNodeAffinity": "1.required*:NodeSelector",
    "Volume": "1.name! 2.^:VolumeSource",
    "Container": (
        "1.name! 2.image 3.command:[]s 4.args:[]s 5.workingDir 6.ports:[]ContainerPort 19.envFrom:[]EnvFromSource "
        "7.env:[]EnvVar 8.resources:ResourceRequirements 23.resizePolicy:[]ContainerResizePolicy 24.restartPolicy* "
        "9.volumeMounts:[]VolumeMount 21.volumeDevices:[]VolumeDevice 10.livenessProbe*:Probe "
        "11.readinessProbe*:Probe 22.startupProbe*:Probe 12.lifecycle*:Lifecycle 13.terminationMessagePath "
        "20.terminationMessagePolicy 14.imagePullPolicy 15.securityContext*:SecurityContext 16.stdin:b "
        "17.stdinOnce:b 18.tty:b"),
    "EphemeralContainer": "1.^:EphemeralContainerCommon 2.targetContainerName",
    "PodSecurityContext": (
        "1.seLinuxOptions*:SELinuxOptions 8.windowsOptions*:WindowsSecurityContextOptions 2.runAsUser*:i "
        "6.runAsGroup*:i 3.runAsNonRoot*:b 4.supplementalGroups:[]i 12.supplementalGroupsPolicy* 5.fsGroup*:i "
        "7.sysctls:[]Sysctl 9.fsGroupChangePolicy* 10.seccompProfile*:SeccompProfile "
        "11.appArmorProfile*:AppArmorProfile 13.seLinuxChangePolicy*"),
    "Affinity": "1.nodeAffinity*:NodeAffinity 2.podAffinity*:PodAffinity 3.podAntiAffinity*:PodAntiAffinity",
    "Toleration": "1.key 2.operator 3.value 4.effect 5.tolerationSeconds*:i",
    "HostAlias": "1.ip! 2.hostnames:[]s",
    "PodDNSConfig": "1.nameservers:[]s 2.searches:[]s 3.options:[]PodDNSConfigOption",
    "PodReadinessGate": "1.conditionType!",
    "TopologySpreadConstraint": (
        "1.maxSkew!:i 2.topologyKey! 3.whenUnsatisfiable! 4.labelSelector*:LabelSelector 5.minDomains*:i "
        "6.nodeAffinityPolicy* 7.nodeTaintsPolicy* 8.matchLabelKeys:[]s"),
    "PodOS": "1.name!",
    "PodSchedulingGate": "1.name!",
    "PodResourceClaim": "1.name! 3.resourceClaimName* 4.resourceClaimTemplateName*",
    "ResourceRequirements": "1.limits:{}Quantity 2.requests:{}Quantity 3.claims:[]ResourceClaim",
    "PodCondition": "1.type! 2.status! 3.lastProbeTime:Time 4.lastTransitionTime:Time 5.reason 6.message",
    "HostIP": "1.ip!",
    "PodIP": "1.ip!",
    "ContainerStatus": (
        "1.name! 2.state:ContainerState 3.lastState:ContainerState 4.ready!:b 5.restartCount!:i 6.image! 7.imageID! "
        "8.containerID 9.started*:b 10.allocatedResources:{}Quantity 11.resources*:ResourceRequirements "
        "12.volumeMounts:[]VolumeMountStatus 13.user*:ContainerUser 14.allocatedResourcesStatus:[]ResourceStatus"),
    "PodResourceClaimStatus": "1.name! 2.resourceClaimName*",
    "ReplicationControllerCondition": "1.type! 2.status! 3.lastTransitionTime:Time 4.reason 5.message",
    "ScopeSelector": "1.matchExpressions:[]ScopedResourceSelectorRequirement",
    "ServicePort": "1.name 2.protocol 6.appProtocol* 3.port!:i 4.targetPort:IntOrString 5.nodePort:i",
    "SessionAffinityConfig": "1.clientIP*:ClientIPConfig",
    "LoadBalancerStatus": "1.ingress:[]LoadBalancerIngress",
    "TopologySelectorLabelRequirement": "1.key! 2.values!:[]s",
    "ConfigMapNodeConfigSource": "1.namespace! 2.name! 3.uid 4.resourceVersion 5.kubeletConfigKey!",
    "DaemonEndpoint": "1.Port!:i",
    "NodeRuntimeHandlerFeatures": "1.recursiveReadOnlyMounts*:b 2.userNamespaces*:b",
    "GCEPersistentDiskVolumeSource": "1.pdName! 2.fsType 3.partition:i 4.readOnly:b",
    "AWSElasticBlockStoreVolumeSource": "1.volumeID! 2.fsType 3.partition:i 4.readOnly:b",
    "HostPathVolumeSource": "1.path! 2.type*",
    "GlusterfsPersistentVolumeSource": "1.endpoints! 2.path! 3.readOnly:b 4.endpointsNamespace*",
    "NFSVolumeSource": "1.server! 2.path! 3.readOnly:b",
    "RBDPersistentVolumeSource": (
        "1.monitors!:[]s 2.image! 3.fsType 4.pool 5.user 6.keyring 7.secretRef*:SecretReference 8.readOnly:b"),
    "ISCSIPersistentVolumeSource": (
        "1.targetPortal! 2.iqn! 3.lun!:i 4.iscsiInterface 5.fsType 6.readOnly:b 7.portals:[]s 8.chapAuthDiscovery:b "
        "11.chapAuthSession:b 10.secretRef*:SecretReference 12.initiatorName*"),
    "CinderPersistentVolumeSource": "1.volumeID! 2.fsType 3.readOnly:b 4.secretRef*:SecretReference",
    "CephFSPersistentVolumeSource": (
        "1.monitors!:[]s 2.path 3.user 4.secretFile 5.secretRef*:SecretReference 6.readOnly:b"),
    "FCVolumeSource": "1.targetWWNs:[]s 2.lun*:i 3.fsType 4.readOnly:b 5.wwids:[]s",
    "FlockerVolumeSource": "1.datasetName 2.datasetUUID",
    "FlexPersistentVolumeSource": "1.driver! 2.fsType 3.secretRef*:SecretReference 4.readOnly:b 5.options:{}s",
    "AzureFilePersistentVolumeSource": "1.secretName! 2.shareName! 3.readOnly:b 4.secretNamespace*!",
    "VsphereVirtualDiskVolumeSource": "1.volumePath! 2.fsType 3.storagePolicyName 4.storagePolicyID",
    "QuobyteVolumeSource": "1.registry! 2.volume! 3.readOnly:b 4.user 5.group 6.tenant",
    "AzureDiskVolumeSource": "1.diskName! 2.diskURI! 3.cachingMode* 4.fsType* 5.readOnly*:b 6.kind*",
    "PhotonPersistentDiskVolumeSource": "1.pdID! 2.fsType",
    "PortworxVolumeSource": "1.volumeID! 2.fsType 3.readOnly:b",
    "ScaleIOPersistentVolumeSource": (
        "1.gateway! 2.system! 3.secretRef*!:SecretReference 4.sslEnabled:b 5.protectionDomain 6.storagePool "
        "7.storageMode 8.volumeName 9.fsType 10.readOnly:b"),
    "LocalVolumeSource": "1.path! 2.fsType*",
    "StorageOSPersistentVolumeSource": (
        "1.volumeName 2.volumeNamespace 3.fsType 4.readOnly:b 5.secretRef*:ObjectReference"),
    "CSIPersistentVolumeSource": (
        "1.driver! 2.volumeHandle! 3.readOnly:b 4.fsType 5.volumeAttributes:{}s "
        "6.controllerPublishSecretRef*:SecretReference 7.nodeStageSecretRef*:SecretReference "
        "8.nodePublishSecretRef*:SecretReference 9.controllerExpandSecretRef*:SecretReference "
        "10.nodeExpandSecretRef*:SecretReference"),
    "NodeSelector": "1.nodeSelectorTerms!:[]NodeSelectorTerm",
    "VolumeSource": (
        "1.hostPath*:HostPathVolumeSource 2.emptyDir*:EmptyDirVolumeSource "
        "3.gcePersistentDisk*:GCEPersistentDiskVolumeSource "
        "4.awsElasticBlockStore*:AWSElasticBlockStoreVolumeSource 5.gitRepo*:GitRepoVolumeSource "
        "6.secret*:SecretVolumeSource 7.nfs*:NFSVolumeSource 8.iscsi*:ISCSIVolumeSource "
        "9.glusterfs*:GlusterfsVolumeSource 10.persistentVolumeClaim*:PersistentVolumeClaimVolumeSource "
        "11.rbd*:RBDVolumeSource 12.flexVolume*:FlexVolumeSource 13.cinder*:CinderVolumeSource "
        "14.cephfs*:CephFSVolumeSource 15.flocker*:FlockerVolumeSource 16.downwardAPI*:DownwardAPIVolumeSource "
        "17.fc*:FCVolumeSource 18.azureFile*:AzureFileVolumeSource 19.configMap*:ConfigMapVolumeSource "
        "20.vsphereVolume*:VsphereVirtualDiskVolumeSource 21.quobyte*:QuobyteVolumeSource "
        "22.azureDisk*:AzureDiskVolumeSource 23.photonPersistentDisk*:PhotonPersistentDiskVolumeSource "
        "26.projected*:ProjectedVolumeSource 24.portworxVolume*:PortworxVolumeSource "
        "25.scaleIO*:ScaleIOVolumeSource 27.storageos*:StorageOSVolumeSource 28.csi*:CSIVolumeSource "
        "29.ephemeral*:EphemeralVolumeSource 30.image*:ImageVolumeSource"),
    "ContainerPort": "1.name 2.hostPort:i 3.containerPort!:i 4.protocol 5.hostIP",
    "EnvFromSource": "1.prefix 2.configMapRef*:ConfigMapEnvSource 3.secretRef*:SecretEnvSource",
    "EnvVar": "1.name! 2.value 3.valueFrom*:EnvVarSource",
    "ContainerResizePolicy": "1.resourceName! 2.restartPolicy!",
    "VolumeMount": "1.name! 2.readOnly:b 7.recursiveReadOnly* 3.mountPath! 4.subPath 5.mountPropagation* 6.subPathExpr",
    "VolumeDevice": "1.name! 2.devicePath!",
    "Probe": (
        "1.^:ProbeHandler 2.initialDelaySeconds:i 3.timeoutSeconds:i 4.periodSeconds:i 5.successThreshold:i "
        "6.failureThreshold:i 7.terminationGracePeriodSeconds*:i"),
    "Lifecycle": "1.postStart*:LifecycleHandler 2.preStop*:LifecycleHandler",
    "SecurityContext": (
        "1.capabilities*:Capabilities 2.privileged*:b 3.seLinuxOptions*:SELinuxOptions "
        "10.windowsOptions*:WindowsSecurityContextOptions 4.runAsUser*:i 8.runAsGroup*:i 5.runAsNonRoot*:b "
        "6.readOnlyRootFilesystem*:b 7.allowPrivilegeEscalation*:b 9.procMount* 11.seccompProfile*:SeccompProfile "
        "12.appArmorProfile*:AppArmorProfile"),
    "EphemeralContainerCommon": (
        "1.name! 2.image 3.command:[]s 4.args:[]s 5.workingDir 6.ports:[]ContainerPort 19.envFrom:[]EnvFromSource "
        "7.env:[]EnvVar 8.resources:ResourceRequirements 23.resizePolicy:[]ContainerResizePolicy 24.restartPolicy* "
        "9.volumeMounts:[]VolumeMount 21.volumeDevices:[]VolumeDevice 10.livenessProbe*:Probe "
        "11.readinessProbe*:Probe 22.startupProbe*:Probe 12.lifecycle*:Lifecycle 13.terminationMessagePath "
        "20.terminationMessagePolicy 14.imagePullPolicy 15.securityContext*:SecurityContext 16.stdin:b "
        "17.stdinOnce:b 18.tty:b"),
    "SELinuxOptions": "1.user 2.role 3.type 4.level",
    "WindowsSecurityContextOptions": (
        "1.gmsaCredentialSpecName* 2.gmsaCredentialSpec* 3.runAsUserName* 4.hostProcess*:b"),
    "Sysctl": "1.name! 2.value!",
    "SeccompProfile": "1.type! 2.localhostProfile*",
    "AppArmorProfile": "1.type! 2.localhostProfile*",
    "NodeAffinity": (
        "1.requiredDuringSchedulingIgnoredDuringExecution*:NodeSelector "
        "2.preferredDuringSchedulingIgnoredDuringExecution:[]PreferredSchedulingTerm"),
    "PodAffinity": (
        "1.requiredDuringSchedulingIgnoredDuringExecution:[]PodAffinityTerm "
        "2.preferredDuringSchedulingIgnoredDuringExecution:[]WeightedPodAffinityTerm"),
    "PodAntiAffinity": (
        "1.requiredDuringSchedulingIgnoredDuringExecution:[]PodAffinityTerm "
        "2.preferredDuringSchedulingIgnoredDuringExecution:[]WeightedPodAffinityTerm"),
    "PodDNSConfigOption": "1.name 2.value*",
    "ResourceClaim": "1.name! 2.request",
    "ContainerState": (
        "1.waiting*:ContainerStateWaiting 2.running*:ContainerStateRunning 3.terminated*:ContainerStateTerminated"),
    "VolumeMountStatus": "1.name! 2.mountPath! 3.readOnly:b 4.recursiveReadOnly*",
    "ContainerUser": "1.linux*:LinuxContainerUser",
    "ResourceStatus": "1.name! 2.resources:[]ResourceHealth",
    "ScopedResourceSelectorRequirement": "1.scopeName! 2.operator! 3.values:[]s",
    "ClientIPConfig": "1.timeoutSeconds*:i",
    "LoadBalancerIngress": "1.ip 2.hostname 3.ipMode* 4.ports:[]PortStatus",
    "SecretReference": "1.name 2.namespace",
    "NodeSelectorTerm": "1.matchExpressions:[]NodeSelectorRequirement 2.matchFields:[]NodeSelectorRequirement",
    "EmptyDirVolumeSource": "1.medium 2.sizeLimit*:Quantity",
    "GitRepoVolumeSource": "1.repository! 2.revision 3.directory",
    "SecretVolumeSource": "1.secretName 2.items:[]KeyToPath 3.defaultMode*:i 4.optional*:b",
    "ISCSIVolumeSource": (
        "1.targetPortal! 2.iqn! 3.lun!:i 4.iscsiInterface 5.fsType 6.readOnly:b 7.portals:[]s 8.chapAuthDiscovery:b "
        "11.chapAuthSession:b 10.secretRef*:LocalObjectReference 12.initiatorName*"),
    "GlusterfsVolumeSource": "1.endpoints! 2.path! 3.readOnly:b",
    "PersistentVolumeClaimVolumeSource": "1.claimName! 2.readOnly:b",
    "RBDVolumeSource": (
        "1.monitors!:[]s 2.image! 3.fsType 4.pool 5.user 6.keyring 7.secretRef*:LocalObjectReference 8.readOnly:b"),
    "FlexVolumeSource": "1.driver! 2.fsType 3.secretRef*:LocalObjectReference 4.readOnly:b 5.options:{}s",
    "CinderVolumeSource": "1.volumeID! 2.fsType 3.readOnly:b 4.secretRef*:LocalObjectReference",
    "CephFSVolumeSource": "1.monitors!:[]s 2.path 3.user 4.secretFile 5.secretRef*:LocalObjectReference 6.readOnly:b",
    "DownwardAPIVolumeSource": "1.items:[]DownwardAPIVolumeFile 2.defaultMode*:i",
    "AzureFileVolumeSource": "1.secretName! 2.shareName! 3.readOnly:b",
    "ConfigMapVolumeSource": "1.^:LocalObjectReference 2.items:[]KeyToPath 3.defaultMode*:i 4.optional*:b",
    "ProjectedVolumeSource": "1.sources!:[]VolumeProjection 2.defaultMode*:i",
    "ScaleIOVolumeSource": (
        "1.gateway! 2.system! 3.secretRef*!:LocalObjectReference 4.sslEnabled:b 5.protectionDomain 6.storagePool "
        "7.storageMode 8.volumeName 9.fsType 10.readOnly:b"),
    "StorageOSVolumeSource": "1.volumeName 2.volumeNamespace 3.fsType 4.readOnly:b 5.secretRef*:LocalObjectReference",
    "CSIVolumeSource": (
        "1.driver! 2.readOnly*:b 3.fsType* 4.volumeAttributes:{}s 5.nodePublishSecretRef*:LocalObjectReference"),
    "EphemeralVolumeSource": "1.volumeClaimTemplate*:PersistentVolumeClaimTemplate",
    "ImageVolumeSource": "1.reference 2.pullPolicy",
    "ConfigMapEnvSource": "1.^:LocalObjectReference 2.optional*:b",
    "SecretEnvSource": "1.^:LocalObjectReference 2.optional*:b",
    "EnvVarSource": (
        "1.fieldRef*:ObjectFieldSelector 2.resourceFieldRef*:ResourceFieldSelector "
        "3.configMapKeyRef*:ConfigMapKeySelector 4.secretKeyRef*:SecretKeySelector"),
    "ProbeHandler": "1.exec*:ExecAction 2.httpGet*:HTTPGetAction 3.tcpSocket*:TCPSocketAction 4.grpc*:GRPCAction",
    "LifecycleHandler": "1.exec*:ExecAction 2.httpGet*:HTTPGetAction 3.tcpSocket*:TCPSocketAction 4.sleep*:SleepAction",
    "Capabilities": "1.add:[]s 2.drop:[]s",
    "PreferredSchedulingTerm": "1.weight!:i 2.preference:NodeSelectorTerm",
    "PodAffinityTerm": (
        "1.labelSelector*:LabelSelector 2.namespaces:[]s 3.topologyKey! 4.namespaceSelector*:LabelSelector "
        "5.matchLabelKeys:[]s 6.mismatchLabelKeys:[]s"),
    "WeightedPodAffinityTerm": "1.weight!:i 2.podAffinityTerm:PodAffinityTerm",
    "ContainerStateWaiting": "1.reason 2.message",
    "ContainerStateRunning": "1.startedAt:Time",
    "ContainerStateTerminated": (
        "1.exitCode!:i 2.signal:i 3.reason 4.message 5.startedAt:Time 6.finishedAt:Time 7.containerID"),
    "LinuxContainerUser": "1.uid!:i 2.gid!:i 3.supplementalGroups:[]i",
    "ResourceHealth": "1.resourceID! 2.health",
    "PortStatus": "1.port!:i 2.protocol! 3.error*",
    "NodeSelectorRequirement": "1.key! 2.operator! 3.values:[]s",
    "KeyToPath": "1.key! 2.path! 3.mode*:i",
    "DownwardAPIVolumeFile": (
        "1.path! 2.fieldRef*:ObjectFieldSelector 3.resourceFieldRef*:ResourceFieldSelector 4.mode*:i"),
    "VolumeProjection": (
        "1.secret*:SecretProjection 2.downwardAPI*:DownwardAPIProjection 3.configMap*:ConfigMapProjection "
        "4.serviceAccountToken*:ServiceAccountTokenProjection 5.clusterTrustBundle*:ClusterTrustBundleProjection"),
    "PersistentVolumeClaimTemplate": "1.metadata:ObjectMeta 2.spec:PersistentVolumeClaimSpec",
    "ObjectFieldSelector": "1.apiVersion 2.fieldPath!",
    "ResourceFieldSelector": "1.containerName 2.resource! 3.divisor:Quantity",
    "ConfigMapKeySelector": "1.^:LocalObjectReference 2.key! 3.optional*:b",
    "SecretKeySelector": "1.^:LocalObjectReference 2.key! 3.optional*:b",
    "ExecAction": "1.command:[]s",
    "HTTPGetAction": "1.path 2.port:IntOrString 3.host 4.scheme 5.httpHeaders:[]HTTPHeader",
    "TCPSocketAction": "1.port:IntOrString 2.host",
    "GRPCAction": "1.port!:i 2.service*!",
    "SleepAction": "1.seconds!:i",
    "SecretProjection": "1.^:LocalObjectReference 2.items:[]KeyToPath 4.optional*:b",
    "DownwardAPIProjection": "1.items:[]DownwardAPIVolumeFile",
    "ConfigMapProjection": "1.^:LocalObjectReference 2.items:[]KeyToPath 4.optional*:b",
    "ServiceAccountTokenProjection": "1.audience 2.expirationSeconds*:i 3.path!",
    "ClusterTrustBundleProjection": "1.name* 2.signerName* 3.labelSelector*:LabelSelector 5.optional*:b 4.path!",
    "HTTPHeader": "1.name! 2.value!",
    # k8s.io.api.apps.v1: k8s.io/api apps/v1/generated.proto
    "ControllerRevision": "1.metadata:ObjectMeta 2.data:RawExtension 3.revision!:i",
    "DaemonSet": "1.metadata:ObjectMeta 2.spec:DaemonSetSpec 3.status:DaemonSetStatus",
    "Deployment": "1.metadata:ObjectMeta 2.spec:DeploymentSpec 3.status:DeploymentStatus",
    "ReplicaSet": "1.metadata:ObjectMeta 2.spec:ReplicaSetSpec 3.status:ReplicaSetStatus",
    "StatefulSet": "1.metadata:ObjectMeta 2.spec:StatefulSetSpec 3.status:StatefulSetStatus",
    "DaemonSetSpec": (
        "1.selector*!:LabelSelector 2.template:PodTemplateSpec 3.updateStrategy:DaemonSetUpdateStrategy "
        "4.minReadySeconds:i 6.revisionHistoryLimit*:i"),
    "DaemonSetStatus": (
        "1.currentNumberScheduled!:i 2.numberMisscheduled!:i 3.desiredNumberScheduled!:i 4.numberReady!:i "
        "5.observedGeneration:i 6.updatedNumberScheduled:i 7.numberAvailable:i 8.numberUnavailable:i "
        "9.collisionCount*:i 10.conditions:[]DaemonSetCondition"),
    "DeploymentSpec": (
        "1.replicas*:i 2.selector*!:LabelSelector 3.template:PodTemplateSpec 4.strategy:DeploymentStrategy "
        "5.minReadySeconds:i 6.revisionHistoryLimit*:i 7.paused:b 9.progressDeadlineSeconds*:i"),
    "DeploymentStatus": (
        "1.observedGeneration:i 2.replicas:i 3.updatedReplicas:i 7.readyReplicas:i 4.availableReplicas:i "
        "5.unavailableReplicas:i 6.conditions:[]DeploymentCondition 8.collisionCount*:i"),
    "ReplicaSetSpec": "1.replicas*:i 4.minReadySeconds:i 2.selector*!:LabelSelector 3.template:PodTemplateSpec",
    "ReplicaSetStatus": (
        "1.replicas!:i 2.fullyLabeledReplicas:i 4.readyReplicas:i 5.availableReplicas:i 3.observedGeneration:i "
        "6.conditions:[]ReplicaSetCondition"),
    "StatefulSetSpec": (
        "1.replicas*:i 2.selector*!:LabelSelector 3.template:PodTemplateSpec "
        "4.volumeClaimTemplates:[]PersistentVolumeClaim 5.serviceName! 6.podManagementPolicy "
        "7.updateStrategy:StatefulSetUpdateStrategy 8.revisionHistoryLimit*:i 9.minReadySeconds:i "
        "10.persistentVolumeClaimRetentionPolicy*:StatefulSetPersistentVolumeClaimRetentionPolicy "
        "11.ordinals*:StatefulSetOrdinals"),
    "StatefulSetStatus": (
        "1.observedGeneration:i 2.replicas!:i 3.readyReplicas:i 4.currentReplicas:i 5.updatedReplicas:i "
        "6.currentRevision 7.updateRevision 9.collisionCount*:i 10.conditions:[]StatefulSetCondition "
        "11.availableReplicas!:i"),
    "DaemonSetUpdateStrategy": "1.type 2.rollingUpdate*:RollingUpdateDaemonSet",
    "DaemonSetCondition": "1.type! 2.status! 3.lastTransitionTime:Time 4.reason 5.message",
    "DeploymentStrategy": "1.type 2.rollingUpdate*:RollingUpdateDeployment",
    "DeploymentCondition": "1.type! 2.status! 6.lastUpdateTime:Time 7.lastTransitionTime:Time 4.reason 5.message",
    "ReplicaSetCondition": "1.type! 2.status! 3.lastTransitionTime:Time 4.reason 5.message",
    "StatefulSetUpdateStrategy": "1.type 2.rollingUpdate*:RollingUpdateStatefulSetStrategy",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "1.whenDeleted 2.whenScaled",
    "StatefulSetOrdinals": "1.start!:i",
    "StatefulSetCondition": "1.type! 2.status! 3.lastTransitionTime:Time 4.reason 5.message",
    "RollingUpdateDaemonSet": "1.maxUnavailable*:IntOrString 2.maxSurge*:IntOrString",
    "RollingUpdateDeployment": "1.maxUnavailable*:IntOrString 2.maxSurge*:IntOrString",
    "RollingUpdateStatefulSetStrategy": "1.partition*:i 2.maxUnavailable*:IntOrString",
    # k8s.io.api.batch.v1: k8s.io/api batch/v1/generated.proto
    "CronJob": "1.metadata:ObjectMeta 2.spec:CronJobSpec 3.status:CronJobStatus",
    "Job": "1.metadata:ObjectMeta 2.spec:JobSpec 3.status:JobStatus",
    "CronJobSpec": (
        "1.schedule! 8.timeZone* 2.startingDeadlineSeconds*:i 3.concurrencyPolicy 4.suspend*:b "
        "5.jobTemplate:JobTemplateSpec 6.successfulJobsHistoryLimit*:i 7.failedJobsHistoryLimit*:i"),
    "CronJobStatus": "1.active:[]ObjectReference 4.lastScheduleTime*:Time 5.lastSuccessfulTime*:Time",
    "JobSpec": (
        "1.parallelism*:i 2.completions*:i 3.activeDeadlineSeconds*:i 11.podFailurePolicy*:PodFailurePolicy "
        "16.successPolicy*:SuccessPolicy 7.backoffLimit*:i 12.backoffLimitPerIndex*:i 13.maxFailedIndexes*:i "
        "4.selector*:LabelSelector 5.manualSelector*:b 6.template:PodTemplateSpec 8.ttlSecondsAfterFinished*:i "
        "9.completionMode* 10.suspend*:b 14.podReplacementPolicy* 15.managedBy*"),
    "JobStatus": (
        "1.conditions:[]JobCondition 2.startTime*:Time 3.completionTime*:Time 4.active:i 5.succeeded:i 6.failed:i "
        "11.terminating*:i 7.completedIndexes 10.failedIndexes* 8.uncountedTerminatedPods*:UncountedTerminatedPods "
        "9.ready*:i"),
    "JobTemplateSpec": "1.metadata:ObjectMeta 2.spec:JobSpec",
    "PodFailurePolicy": "1.rules!:[]PodFailurePolicyRule",
    "SuccessPolicy": "1.rules!:[]SuccessPolicyRule",
    "JobCondition": "1.type! 2.status! 3.lastProbeTime:Time 4.lastTransitionTime:Time 5.reason 6.message",
    "UncountedTerminatedPods": "1.succeeded:[]s 2.failed:[]s",
    "PodFailurePolicyRule": (
        "1.action! 2.onExitCodes*:PodFailurePolicyOnExitCodesRequirement "
        "3.onPodConditions:[]PodFailurePolicyOnPodConditionsPattern"),
    "SuccessPolicyRule": "1.succeededIndexes* 2.succeededCount*:i",
    "PodFailurePolicyOnExitCodesRequirement": "1.containerName* 2.operator! 3.values!:[]i",
    "PodFailurePolicyOnPodConditionsPattern": "1.type! 2.status!",
    # k8s.io.api.rbac.v1: k8s.io/api rbac/v1/generated.proto
    "ClusterRoleBinding": "1.metadata:ObjectMeta 2.subjects:[]rbac.Subject 3.roleRef:RoleRef",
    "ClusterRole": "1.metadata:ObjectMeta 2.rules!:[]PolicyRule 3.aggregationRule*:AggregationRule",
    "RoleBinding": "1.metadata:ObjectMeta 2.subjects:[]rbac.Subject 3.roleRef:RoleRef",
    "Role": "1.metadata:ObjectMeta 2.rules!:[]PolicyRule",
    "rbac.Subject": "1.kind! 2.apiGroup 3.name! 4.namespace",
    "RoleRef": "1.apiGroup! 2.kind! 3.name!",
    "PolicyRule": "1.verbs!:[]s 2.apiGroups:[]s 3.resources:[]s 4.resourceNames:[]s 5.nonResourceURLs:[]s",
    "AggregationRule": "1.clusterRoleSelectors:[]LabelSelector",
    # k8s.io.api.policy.v1: k8s.io/api policy/v1/generated.proto
    "Eviction": "1.metadata:ObjectMeta 2.deleteOptions*:DeleteOptions",
    "PodDisruptionBudget": "1.metadata:ObjectMeta 2.spec:PodDisruptionBudgetSpec 3.status:PodDisruptionBudgetStatus",
    "PodDisruptionBudgetSpec": (
        "1.minAvailable*:IntOrString 2.selector*:LabelSelector 3.maxUnavailable*:IntOrString "
        "4.unhealthyPodEvictionPolicy*"),
    "PodDisruptionBudgetStatus": (
        "1.observedGeneration:i 2.disruptedPods:{}Time 3.disruptionsAllowed!:i 4.currentHealthy!:i "
        "5.desiredHealthy!:i 6.expectedPods!:i 7.conditions:[]Condition"),
    # k8s.io.api.coordination.v1: k8s.io/api coordination/v1/generated.proto
    "Lease": "1.metadata:ObjectMeta 2.spec:LeaseSpec",
    "LeaseSpec": (
        "1.holderIdentity* 2.leaseDurationSeconds*:i 3.acquireTime*:MicroTime 4.renewTime*:MicroTime "
        "5.leaseTransitions*:i 6.strategy* 7.preferredHolder*"),
    # k8s.io.api.events.v1: k8s.io/api events/v1/generated.proto
    "events.Event": (
        "1.metadata:ObjectMeta 2.eventTime:MicroTime 3.series*:events.EventSeries 4.reportingController "
        "5.reportingInstance 6.action 7.reason 8.regarding:ObjectReference 9.related*:ObjectReference 10.note "
        "11.type 12.deprecatedSource:EventSource 13.deprecatedFirstTimestamp:Time 14.deprecatedLastTimestamp:Time "
        "15.deprecatedCount:i"),
    "events.EventSeries": "1.count!:i 2.lastObservedTime:MicroTime",
    # k8s.io.api.networking.v1: k8s.io/api networking/v1/generated.proto
    "IngressClass": "1.metadata:ObjectMeta 2.spec:IngressClassSpec",
    "Ingress": "1.metadata:ObjectMeta 2.spec:IngressSpec 3.status:IngressStatus",
    "NetworkPolicy": "1.metadata:ObjectMeta 2.spec:NetworkPolicySpec",
    "IngressClassSpec": "1.controller 2.parameters*:IngressClassParametersReference",
    "IngressSpec": "4.ingressClassName* 1.defaultBackend*:IngressBackend 2.tls:[]IngressTLS 3.rules:[]IngressRule",
    "IngressStatus": "1.loadBalancer:IngressLoadBalancerStatus",
    "NetworkPolicySpec": (
        "1.podSelector:LabelSelector 2.ingress:[]NetworkPolicyIngressRule 3.egress:[]NetworkPolicyEgressRule "
        "4.policyTypes:[]s"),
    "IngressClassParametersReference": "1.apiGroup* 2.kind! 3.name! 4.scope*! 5.namespace*",
    "IngressBackend": "4.service*:IngressServiceBackend 3.resource*:TypedLocalObjectReference",
    "IngressTLS": "1.hosts:[]s 2.secretName",
    "IngressRule": "1.host 2.^:IngressRuleValue",
    "IngressLoadBalancerStatus": "1.ingress:[]IngressLoadBalancerIngress",
    "NetworkPolicyIngressRule": "1.ports:[]NetworkPolicyPort 2.from:[]NetworkPolicyPeer",
    "NetworkPolicyEgressRule": "1.ports:[]NetworkPolicyPort 2.to:[]NetworkPolicyPeer",
    "IngressServiceBackend": "1.name! 2.port:ServiceBackendPort",
    "IngressRuleValue": "1.http*:HTTPIngressRuleValue",
    "IngressLoadBalancerIngress": "1.ip 2.hostname 4.ports:[]IngressPortStatus",
    "NetworkPolicyPort": "1.protocol* 2.port*:IntOrString 3.endPort*:i",
    "NetworkPolicyPeer": "1.podSelector*:LabelSelector 2.namespaceSelector*:LabelSelector 3.ipBlock*:IPBlock",
    "ServiceBackendPort": "1.name 2.number:i",
    "HTTPIngressRuleValue": "1.paths!:[]HTTPIngressPath",
    "IngressPortStatus": "1.port!:i 2.protocol! 3.error*",
    "IPBlock": "1.cidr! 2.except:[]s",
    "HTTPIngressPath": "1.path 3.pathType*! 2.backend:IngressBackend",
    # k8s.io.api.discovery.v1: k8s.io/api discovery/v1/generated.proto
    "EndpointSlice": "1.metadata:ObjectMeta 4.addressType! 2.endpoints!:[]Endpoint 3.ports!:[]discovery.EndpointPort",
    "Endpoint": (
        "1.addresses!:[]s 2.conditions:EndpointConditions 3.hostname* 4.targetRef*:ObjectReference "
        "5.deprecatedTopology:{}s 6.nodeName* 7.zone* 8.hints*:EndpointHints"),
    "discovery.EndpointPort": "1.name* 2.protocol* 3.port*:i 4.appProtocol*",
    "EndpointConditions": "1.ready*:b 2.serving*:b 3.terminating*:b",
    "EndpointHints": "1.forZones:[]ForZone",
    "ForZone": "1.name!",
    # k8s.io.api.autoscaling.v1: k8s.io/api autoscaling/v1/generated.proto
    "autoscaling.v1.HorizontalPodAutoscaler": (
        "1.metadata:ObjectMeta 2.spec:autoscaling.v1.HorizontalPodAutoscalerSpec "
        "3.status:autoscaling.v1.HorizontalPodAutoscalerStatus"),
    "Scale": "1.metadata:ObjectMeta 2.spec:ScaleSpec 3.status:ScaleStatus",
    "autoscaling.v1.HorizontalPodAutoscalerSpec": (
        "1.scaleTargetRef:autoscaling.v1.CrossVersionObjectReference 2.minReplicas*:i 3.maxReplicas!:i "
        "4.targetCPUUtilizationPercentage*:i"),
    "autoscaling.v1.HorizontalPodAutoscalerStatus": (
        "1.observedGeneration*:i 2.lastScaleTime*:Time 3.currentReplicas!:i 4.desiredReplicas!:i "
        "5.currentCPUUtilizationPercentage*:i"),
    "ScaleSpec": "1.replicas:i",
    "ScaleStatus": "1.replicas!:i 2.selector",
    "autoscaling.v1.CrossVersionObjectReference": "1.kind! 2.name! 3.apiVersion",
    # k8s.io.api.autoscaling.v2: k8s.io/api autoscaling/v2/generated.proto
    "autoscaling.v2.HorizontalPodAutoscaler": (
        "1.metadata:ObjectMeta 2.spec:autoscaling.v2.HorizontalPodAutoscalerSpec "
        "3.status:autoscaling.v2.HorizontalPodAutoscalerStatus"),
    "autoscaling.v2.HorizontalPodAutoscalerSpec": (
        "1.scaleTargetRef:autoscaling.v2.CrossVersionObjectReference 2.minReplicas*:i 3.maxReplicas!:i "
        "4.metrics:[]MetricSpec 5.behavior*:HorizontalPodAutoscalerBehavior"),
    "autoscaling.v2.HorizontalPodAutoscalerStatus": (
        "1.observedGeneration*:i 2.lastScaleTime*:Time 3.currentReplicas:i 4.desiredReplicas!:i "
        "5.currentMetrics!:[]MetricStatus 6.conditions:[]HorizontalPodAutoscalerCondition"),
    "autoscaling.v2.CrossVersionObjectReference": "1.kind! 2.name! 3.apiVersion",
    "MetricSpec": (
        "1.type! 2.object*:ObjectMetricSource 3.pods*:PodsMetricSource 4.resource*:ResourceMetricSource "
        "7.containerResource*:ContainerResourceMetricSource 5.external*:ExternalMetricSource"),
    "HorizontalPodAutoscalerBehavior": "1.scaleUp*:HPAScalingRules 2.scaleDown*:HPAScalingRules",
    "MetricStatus": (
        "1.type! 2.object*:ObjectMetricStatus 3.pods*:PodsMetricStatus 4.resource*:ResourceMetricStatus "
        "7.containerResource*:ContainerResourceMetricStatus 5.external*:ExternalMetricStatus"),
    "HorizontalPodAutoscalerCondition": "1.type! 2.status! 3.lastTransitionTime:Time 4.reason 5.message",
    "ObjectMetricSource": (
        "1.describedObject:autoscaling.v2.CrossVersionObjectReference 2.target:MetricTarget "
        "3.metric:MetricIdentifier"),
    "PodsMetricSource": "1.metric:MetricIdentifier 2.target:MetricTarget",
    "ResourceMetricSource": "1.name! 2.target:MetricTarget",
    "ContainerResourceMetricSource": "1.name! 2.target:MetricTarget 3.container!",
    "ExternalMetricSource": "1.metric:MetricIdentifier 2.target:MetricTarget",
    "HPAScalingRules": "3.stabilizationWindowSeconds*:i 1.selectPolicy* 2.policies:[]HPAScalingPolicy",
    "ObjectMetricStatus": (
        "1.metric:MetricIdentifier 2.current:MetricValueStatus "
        "3.describedObject:autoscaling.v2.CrossVersionObjectReference"),
    "PodsMetricStatus": "1.metric:MetricIdentifier 2.current:MetricValueStatus",
    "ResourceMetricStatus": "1.name! 2.current:MetricValueStatus",
    "ContainerResourceMetricStatus": "1.name! 2.current:MetricValueStatus 3.container!",
    "ExternalMetricStatus": "1.metric:MetricIdentifier 2.current:MetricValueStatus",
    "MetricTarget": "1.type! 2.value*:Quantity 3.averageValue*:Quantity 4.averageUtilization*:i",
    "MetricIdentifier": "1.name! 2.selector*:LabelSelector",
    "HPAScalingPolicy": "1.type! 2.value!:i 3.periodSeconds!:i",
    "MetricValueStatus": "1.value*:Quantity 2.averageValue*:Quantity 3.averageUtilization*:i",
    # k8s.io.api.storage.v1: k8s.io/api storage/v1/generated.proto
    "CSIDriver": "1.metadata:ObjectMeta 2.spec:CSIDriverSpec",
    "CSINode": "1.metadata:ObjectMeta 2.spec:CSINodeSpec",
    "CSIStorageCapacity": (
        "1.metadata:ObjectMeta 2.nodeTopology*:LabelSelector 3.storageClassName! 4.capacity*:Quantity "
        "5.maximumVolumeSize*:Quantity"),
    "StorageClass": (
        "1.metadata:ObjectMeta 2.provisioner! 3.parameters:{}s 4.reclaimPolicy* 5.mountOptions:[]s "
        "6.allowVolumeExpansion*:b 7.volumeBindingMode* 8.allowedTopologies:[]TopologySelectorTerm"),
    "VolumeAttachment": "1.metadata:ObjectMeta 2.spec:VolumeAttachmentSpec 3.status:VolumeAttachmentStatus",
    "CSIDriverSpec": (
        "1.attachRequired*:b 2.podInfoOnMount*:b 3.volumeLifecycleModes:[]s 4.storageCapacity*:b 5.fsGroupPolicy* "
        "6.tokenRequests:[]storage.TokenRequest 7.requiresRepublish*:b 8.seLinuxMount*:b"),
    "CSINodeSpec": "1.drivers!:[]CSINodeDriver",
    "VolumeAttachmentSpec": "1.attacher! 2.source:VolumeAttachmentSource 3.nodeName!",
    "VolumeAttachmentStatus": (
        "1.attached!:b 2.attachmentMetadata:{}s 3.attachError*:VolumeError 4.detachError*:VolumeError"),
    "storage.TokenRequest": "1.audience! 2.expirationSeconds*:i",
    "CSINodeDriver": "1.name! 2.nodeID! 3.topologyKeys!:[]s 4.allocatable*:VolumeNodeResources",
    "VolumeAttachmentSource": "1.persistentVolumeName* 2.inlineVolumeSpec*:PersistentVolumeSpec",
    "VolumeError": "1.time:Time 2.message",
    "VolumeNodeResources": "1.count*:i",
    # k8s.io.api.admissionregistration.v1: k8s.io/api admissionregistration/v1/generated.proto
    "MutatingWebhookConfiguration": "1.metadata:ObjectMeta 2.webhooks:[]MutatingWebhook",
    "ValidatingAdmissionPolicy": (
        "1.metadata:ObjectMeta 2.spec:ValidatingAdmissionPolicySpec 3.status:ValidatingAdmissionPolicyStatus"),
    "ValidatingAdmissionPolicyBinding": "1.metadata:ObjectMeta 2.spec:ValidatingAdmissionPolicyBindingSpec",
    "ValidatingWebhookConfiguration": "1.metadata:ObjectMeta 2.webhooks:[]ValidatingWebhook",
    "MutatingWebhook": (
        "1.name! 2.clientConfig:WebhookClientConfig 3.rules:[]RuleWithOperations 4.failurePolicy* 9.matchPolicy* "
        "5.namespaceSelector*:LabelSelector 11.objectSelector*:LabelSelector 6.sideEffects*! 7.timeoutSeconds*:i "
        "8.admissionReviewVersions!:[]s 10.reinvocationPolicy* 12.matchConditions:[]MatchCondition"),
    "ValidatingAdmissionPolicySpec": (
        "1.paramKind*:ParamKind 2.matchConstraints*:MatchResources 3.validations:[]Validation 4.failurePolicy* "
        "5.auditAnnotations:[]AuditAnnotation 6.matchConditions:[]MatchCondition 7.variables:[]Variable"),
    "ValidatingAdmissionPolicyStatus": "1.observedGeneration:i 2.typeChecking*:TypeChecking 3.conditions:[]Condition",
    "ValidatingAdmissionPolicyBindingSpec": (
        "1.policyName 2.paramRef*:ParamRef 3.matchResources*:MatchResources 4.validationActions:[]s"),
    "ValidatingWebhook": (
        "1.name! 2.clientConfig:WebhookClientConfig 3.rules:[]RuleWithOperations 4.failurePolicy* 9.matchPolicy* "
        "5.namespaceSelector*:LabelSelector 10.objectSelector*:LabelSelector 6.sideEffects*! 7.timeoutSeconds*:i "
        "8.admissionReviewVersions!:[]s 11.matchConditions:[]MatchCondition"),
    "WebhookClientConfig": "3.url* 1.service*:ServiceReference 2.caBundle:y",
    "RuleWithOperations": "1.operations:[]s 2.^:Rule",
    "MatchCondition": "1.name! 2.expression!",
    "ParamKind": "1.apiVersion 2.kind",
    "MatchResources": (
        "1.namespaceSelector*:LabelSelector 2.objectSelector*:LabelSelector "
        "3.resourceRules:[]NamedRuleWithOperations 4.excludeResourceRules:[]NamedRuleWithOperations 7.matchPolicy*"),
    "Validation": "1.expression! 2.message 3.reason* 4.messageExpression",
    "AuditAnnotation": "1.key! 2.valueExpression!",
    "Variable": "1.name! 2.expression!",
    "TypeChecking": "1.expressionWarnings:[]ExpressionWarning",
    "ParamRef": "1.name 2.namespace 3.selector*:LabelSelector 4.parameterNotFoundAction*",
    "ServiceReference": "1.namespace! 2.name! 3.path* 4.port*:i",
    "Rule": "1.apiGroups:[]s 2.apiVersions:[]s 3.resources:[]s 4.scope*",
    "NamedRuleWithOperations": "1.resourceNames:[]s 2.^:RuleWithOperations",
    "ExpressionWarning": "2.fieldRef! 3.warning!",
    # k8s.io.api.authentication.v1: k8s.io/api authentication/v1/generated.proto
    "SelfSubjectReview": "1.metadata:ObjectMeta 2.status:SelfSubjectReviewStatus",
    "TokenReview": "1.metadata:ObjectMeta 2.spec:TokenReviewSpec 3.status:TokenReviewStatus",
    "authentication.TokenRequest": "1.metadata:ObjectMeta 2.spec:TokenRequestSpec 3.status:TokenRequestStatus",
    "SelfSubjectReviewStatus": "1.userInfo:UserInfo",
    "TokenReviewSpec": "1.token 2.audiences:[]s",
    "TokenReviewStatus": "1.authenticated:b 2.user:UserInfo 4.audiences:[]s 3.error",
    "TokenRequestSpec": "1.audiences!:[]s 4.expirationSeconds*!:i 3.boundObjectRef*!:BoundObjectReference",
    "TokenRequestStatus": "1.token! 2.expirationTimestamp:Time",
    "UserInfo": "1.username 2.uid 3.groups:[]s 4.extra:{}ExtraValue",
    "BoundObjectReference": "1.kind 2.apiVersion 3.name 4.uid",
    # k8s.io.api.authorization.v1: k8s.io/api authorization/v1/generated.proto
    "LocalSubjectAccessReview": (
        "1.metadata:ObjectMeta 2.spec:SubjectAccessReviewSpec 3.status:SubjectAccessReviewStatus"),
    "SelfSubjectAccessReview": (
        "1.metadata:ObjectMeta 2.spec:SelfSubjectAccessReviewSpec 3.status:SubjectAccessReviewStatus"),
    "SelfSubjectRulesReview": (
        "1.metadata:ObjectMeta 2.spec:SelfSubjectRulesReviewSpec 3.status:SubjectRulesReviewStatus"),
    "SubjectAccessReview": "1.metadata:ObjectMeta 2.spec:SubjectAccessReviewSpec 3.status:SubjectAccessReviewStatus",
    "SubjectAccessReviewSpec": (
        "1.resourceAttributes*:ResourceAttributes 2.nonResourceAttributes*:NonResourceAttributes 3.user "
        "4.groups:[]s 5.extra:{}ExtraValue 6.uid"),
    "SubjectAccessReviewStatus": "1.allowed!:b 4.denied:b 2.reason 3.evaluationError",
    "SelfSubjectAccessReviewSpec": (
        "1.resourceAttributes*:ResourceAttributes 2.nonResourceAttributes*:NonResourceAttributes"),
    "SelfSubjectRulesReviewSpec": "1.namespace",
    "SubjectRulesReviewStatus": (
        "1.resourceRules!:[]ResourceRule 2.nonResourceRules!:[]NonResourceRule 3.incomplete!:b 4.evaluationError"),
    "ResourceAttributes": (
        "1.namespace 2.verb 3.group 4.version 5.resource 6.subresource 7.name "
        "8.fieldSelector*:FieldSelectorAttributes 9.labelSelector*:LabelSelectorAttributes"),
    "NonResourceAttributes": "1.path 2.verb",
    "ResourceRule": "1.verbs!:[]s 2.apiGroups:[]s 3.resources:[]s 4.resourceNames:[]s",
    "NonResourceRule": "1.verbs!:[]s 2.nonResourceURLs:[]s",
    "FieldSelectorAttributes": "1.rawSelector 2.requirements:[]FieldSelectorRequirement",
    "LabelSelectorAttributes": "1.rawSelector 2.requirements:[]LabelSelectorRequirement",
    # k8s.io.api.certificates.v1: k8s.io/api certificates/v1/generated.proto
    "CertificateSigningRequest": (
        "1.metadata:ObjectMeta 2.spec:CertificateSigningRequestSpec 3.status:CertificateSigningRequestStatus"),
    "CertificateSigningRequestSpec": (
        "1.request!:y 7.signerName! 8.expirationSeconds*:i 5.usages:[]s 2.username 3.uid 4.groups:[]s "
        "6.extra:{}ExtraValue"),
    "CertificateSigningRequestStatus": "1.conditions:[]CertificateSigningRequestCondition 2.certificate:y",
    "CertificateSigningRequestCondition": (
        "1.type! 6.status! 2.reason 3.message 4.lastUpdateTime:Time 5.lastTransitionTime:Time"),
    # k8s.io.api.flowcontrol.v1: k8s.io/api flowcontrol/v1/generated.proto
    "FlowSchema": "1.metadata:ObjectMeta 2.spec:FlowSchemaSpec 3.status:FlowSchemaStatus",
    "PriorityLevelConfiguration": (
        "1.metadata:ObjectMeta 2.spec:PriorityLevelConfigurationSpec 3.status:PriorityLevelConfigurationStatus"),
    "FlowSchemaSpec": (
        "1.priorityLevelConfiguration:PriorityLevelConfigurationReference 2.matchingPrecedence!:i "
        "3.distinguisherMethod*:FlowDistinguisherMethod 4.rules:[]PolicyRulesWithSubjects"),
    "FlowSchemaStatus": "1.conditions:[]FlowSchemaCondition",
    "PriorityLevelConfigurationSpec": (
        "1.type! 2.limited*:LimitedPriorityLevelConfiguration 3.exempt*:ExemptPriorityLevelConfiguration"),
    "PriorityLevelConfigurationStatus": "1.conditions:[]PriorityLevelConfigurationCondition",
    "PriorityLevelConfigurationReference": "1.name!",
    "FlowDistinguisherMethod": "1.type!",
    "PolicyRulesWithSubjects": (
        "1.subjects!:[]flowcontrol.Subject 2.resourceRules:[]ResourcePolicyRule "
        "3.nonResourceRules:[]NonResourcePolicyRule"),
    "FlowSchemaCondition": "1.type 2.status 3.lastTransitionTime:Time 4.reason 5.message",
    "LimitedPriorityLevelConfiguration": (
        "1.nominalConcurrencyShares*!:i 2.limitResponse:LimitResponse 3.lendablePercent*:i "
        "4.borrowingLimitPercent*:i"),
    "ExemptPriorityLevelConfiguration": "1.nominalConcurrencyShares*:i 2.lendablePercent*:i",
    "PriorityLevelConfigurationCondition": "1.type 2.status 3.lastTransitionTime:Time 4.reason 5.message",
    "flowcontrol.Subject": "1.kind! 2.user*:UserSubject 3.group*:GroupSubject 4.serviceAccount*:ServiceAccountSubject",
    "ResourcePolicyRule": "1.verbs!:[]s 2.apiGroups!:[]s 3.resources!:[]s 4.clusterScope:b 5.namespaces!:[]s",
    "NonResourcePolicyRule": "1.verbs!:[]s 6.nonResourceURLs!:[]s",
    "LimitResponse": "1.type! 2.queuing*:QueuingConfiguration",
    "UserSubject": "1.name!",
    "GroupSubject": "1.name!",
    "ServiceAccountSubject": "1.namespace! 2.name!",
    "QueuingConfiguration": "1.queues!:i 2.handSize!:i 3.queueLengthLimit!:i",
    # k8s.io.api.node.v1: k8s.io/api node/v1/generated.proto
    "RuntimeClass": "1.metadata:ObjectMeta 2.handler! 3.overhead*:Overhead 4.scheduling*:Scheduling",
    "Overhead": "1.podFixed:{}Quantity",
    "Scheduling": "1.nodeSelector:{}s 2.tolerations:[]Toleration",
    # k8s.io.api.scheduling.v1: k8s.io/api scheduling/v1/generated.proto
    "PriorityClass": "1.metadata:ObjectMeta 2.value!:i 3.globalDefault:b 4.description 5.preemptionPolicy*",
    # k8s.io.apimachinery.pkg.apis.meta.v1: k8s.io/apimachinery pkg/apis/meta/v1/generated.proto
    "DeleteOptions": (
        "1.gracePeriodSeconds*:i 2.preconditions*:Preconditions 3.orphanDependents*:b 4.propagationPolicy* "
        "5.dryRun:[]s 6.ignoreStoreReadErrorWithClusterBreakingPotential*:b"),
    "ObjectMeta": (
        "1.name 2.generateName 3.namespace 4.selfLink 5.uid 6.resourceVersion 7.generation:i "
        "8.creationTimestamp:Time 9.deletionTimestamp*:Time 10.deletionGracePeriodSeconds*:i 11.labels:{}s "
        "12.annotations:{}s 13.ownerReferences:[]OwnerReference 14.finalizers:[]s "
        "17.managedFields:[]ManagedFieldsEntry"),
    "LabelSelector": "1.matchLabels:{}s 2.matchExpressions:[]LabelSelectorRequirement",
    "Preconditions": "1.uid* 2.resourceVersion*",
    "OwnerReference": "5.apiVersion! 1.kind! 3.name! 4.uid! 6.controller*:b 7.blockOwnerDeletion*:b",
    "ManagedFieldsEntry": (
        "1.manager 2.operation 3.apiVersion 4.time*:Time 6.fieldsType 7.fieldsV1*:FieldsV1 8.subresource"),
    "Condition": "1.type! 2.status! 3.observedGeneration:i 4.lastTransitionTime:Time 5.reason! 6.message!",
    "LabelSelectorRequirement": "1.key! 2.operator! 3.values:[]s",
    "FieldSelectorRequirement": "1.key! 2.operator! 3.values:[]s",
}

# (apiVersion, kind) of a runtime.Unknown's typeMeta -> the message its ``raw`` holds: the kinds
# Kubernetes 1.32 serves in these group versions, and those its subresources take (Binding,
# Eviction, Scale, TokenRequest). Not here: CustomResourceDefinition and APIService, whose
# .proto files are in other repositories. DeleteOptions is registered in every group version.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Binding"): "Binding",
    ("v1", "ComponentStatus"): "ComponentStatus",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Endpoints"): "Endpoints",
    ("v1", "Event"): "core.Event",
    ("v1", "LimitRange"): "LimitRange",
    ("v1", "Namespace"): "Namespace",
    ("v1", "Node"): "Node",
    ("v1", "PersistentVolumeClaim"): "PersistentVolumeClaim",
    ("v1", "PersistentVolume"): "PersistentVolume",
    ("v1", "Pod"): "Pod",
    ("v1", "PodTemplate"): "PodTemplate",
    ("v1", "ReplicationController"): "ReplicationController",
    ("v1", "ResourceQuota"): "ResourceQuota",
    ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "Service"): "Service",
    ("apps/v1", "ControllerRevision"): "ControllerRevision",
    ("apps/v1", "DaemonSet"): "DaemonSet",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("apps/v1", "StatefulSet"): "StatefulSet",
    ("batch/v1", "CronJob"): "CronJob",
    ("batch/v1", "Job"): "Job",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("policy/v1", "Eviction"): "Eviction",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
    ("coordination.k8s.io/v1", "Lease"): "Lease",
    ("events.k8s.io/v1", "Event"): "events.Event",
    ("networking.k8s.io/v1", "IngressClass"): "IngressClass",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("networking.k8s.io/v1", "NetworkPolicy"): "NetworkPolicy",
    ("discovery.k8s.io/v1", "EndpointSlice"): "EndpointSlice",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "autoscaling.v1.HorizontalPodAutoscaler",
    ("autoscaling/v1", "Scale"): "Scale",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscaling.v2.HorizontalPodAutoscaler",
    ("storage.k8s.io/v1", "CSIDriver"): "CSIDriver",
    ("storage.k8s.io/v1", "CSINode"): "CSINode",
    ("storage.k8s.io/v1", "CSIStorageCapacity"): "CSIStorageCapacity",
    ("storage.k8s.io/v1", "StorageClass"): "StorageClass",
    ("storage.k8s.io/v1", "VolumeAttachment"): "VolumeAttachment",
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): "MutatingWebhookConfiguration",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): "ValidatingAdmissionPolicy",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): "ValidatingAdmissionPolicyBinding",
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): "ValidatingWebhookConfiguration",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenReview"): "TokenReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "LocalSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): "CertificateSigningRequest",
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"): "FlowSchema",
    ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"): "PriorityLevelConfiguration",
    ("node.k8s.io/v1", "RuntimeClass"): "RuntimeClass",
    ("scheduling.k8s.io/v1", "PriorityClass"): "PriorityClass",
}
ANY_VERSION_KINDS: dict[str, str] = {"DeleteOptions": "DeleteOptions"}
