package i18n

// Key names a message of the catalog.
type Key int

// The messages, by where they are shown. Technical names (Pod, Helm, kind, a flag, a command) are
// the same in both languages.
const (
	noKey     Key = iota // a Raw text
	errorText            // an error, rendered by Message
	joinText             // texts joined (Join)

	// cli
	ErrorLine
	BadLang
	BadOutput
	SeriesNotFolder
	InvalidSeries
	ProvisionerWithContext
	KindConfigWithContext
	BadProvisioner
	DoctorUnfit

	// series
	UnknownChapter
	ComingChapter
	NoComponent

	// up
	Header
	HeaderPost
	HeaderDocs
	PreflightStart
	PreflightFailed
	PreflightOK
	ClusterStart
	ClusterFailed
	ClusterReady
	ClusterCreated
	WithRead
	InstallStart
	InstallFailed
	Installed
	Upgraded
	Unchanged
	PublishStart
	Published
	PublishUnchanged
	PublishFailed
	GitopsWaitStart
	GitopsApplied
	GitopsWaitFailed
	Note
	LedgerNotUpdated
	PartlyInstalled
	FooterOpen
	FooterRead
	FooterNext
	FooterComing

	// checks (up and check)
	ChecksStart
	ChecksPassed
	ChecksSkipped
	ChecksFailed
	CheckVia
	CheckRead
	CheckCounts
	CheckFailedCounts
	BadEndpoint
	EndpointFlag

	// check path
	PathHeader
	PathNotRun
	PathNotUp
	PathEndpoint
	PathPassed
	PathFailed

	// doctor before up
	DoctorStart
	DoctorNotFit
	DoctorUnfitFor
	DoctorPassed
	DoctorWarnings

	// down
	DownNoTarget
	DownBoth
	NothingToDo
	NotInstalled
	DownRefusedOne
	DownRefusedMany
	DeleteStart
	ClusterWhat
	ClusterLeft
	ClusterKept
	ClusterDeleted
	Removing
	RemovedWithCluster
	UninstallStart
	UninstallFailed
	VolumesFailed
	Uninstalled
	WasNotInstalled
	VolumeDeleted
	VolumesDeleted
	NamespaceKept
	NamespaceDeleteStart
	NamespaceNotDeleted
	NamespaceDeleted

	// status
	StatusNotInstalled

	// creds
	CredsLogin
	CredsUser
	CredsPassword
	CredsOpen
	CredsNone
	CredsUnknown
	CredsNoLogin
	CredsNotUp
	CredsNoKey

	// the cluster lock
	LockStillHeld
	LockNowHeld
	LockWaiting
	LockStillWaiting
	LockInterrupted
	LockNotTaken
	LockTaken
	LockTookOver

	// doctor's report
	DoctorFix
	DoctorRead
	EngineNotInstalled
	EngineNoAnswer
	EngineNoAnswerInTime
	EngineNoVersion
	EngineReadInfo
	EngineFix
	EngineOK
	MemoryWhat
	MemoryFix
	MemoryUnknown
	MemoryTooLow
	MemoryTight
	CPUFix
	CPUWhat
	CPUUnknown
	CPUTooFew
	CPUOne
	DiskNoCacheDir
	DiskCannotMeasure
	DiskFix
	DiskWhat
	DiskTooLow
	DiskLow
	InotifyNotLinux
	InotifyCannotRead
	InotifyWhat
	InotifyFileMax
	InotifyLow
	InotifyFix
	PortsFixConfig
	PortInUse
	PortCannotBind
	PortsFree
	PortsBusy
	PortFix
	PortFixAirPlay
	ArchOne
	ArchMany
	ArchFix
	ArchFixArm64
	ArchUnknown
	ArchUnknownFix
	ArchAll
	ArchSome
	ClusterUnreachable
	ClusterUnreachableFix
	ClusterReachable
	ClusterReachableNamed
	CgroupOK
	CgroupV1
	CgroupV1Fix
	ImagesCannotList
	ImagesCannotListNode
	ProbeNoImage
	PrivilegedOK
	PrivilegedFails
	PrivilegedUnknown
	CapsFix
	OOMOK
	OOMRestricted
	OOMFails
	OOMFix
	ImagesInEngine
	ImagesOnNode
	ImagesNothingToPull
	ImagesToPull
	ImagesMissing
	ImagesMirrors
	ImagesLoadFix
	ImagesNodeFix
	ImagesNotBuilt
	ImagesBuildFix

	numKeys
)

// catalog holds every message in both languages; TestCatalog checks that none is missing and
// that the two formats of each take the same arguments.
var catalog = [numKeys]Msg{
	errorText: {Ko: "%v", En: "%v"},
	joinText:  {Ko: "%v", En: "%v"}, // not a format: Text.In joins the texts

	ErrorLine:              {Ko: "오류: %s\n", En: "error: %s\n"},
	BadLang:                {Ko: "--lang %q: ko 또는 en 이어야 합니다", En: "--lang %q: want ko or en"},
	BadOutput:              {Ko: "--output %q: text, json, yaml 중 하나여야 합니다", En: "--output %q: want text, json or yaml"},
	SeriesNotFolder:        {Ko: "--series %s: 폴더가 아닙니다", En: "--series %s: not a folder"},
	InvalidSeries:          {Ko: "시리즈 스펙이 올바르지 않습니다 (%s):\n%v", En: "invalid series (%s):\n%v"},
	ProvisionerWithContext: {Ko: "--provisioner %s: --context/--kubeconfig 와 함께 쓸 수 없습니다 (기존 클러스터를 사용하므로)", En: "--provisioner %s: not with --context/--kubeconfig, which use an existing cluster"},
	KindConfigWithContext:  {Ko: "--kind-config %s: --context/--kubeconfig 와 함께 쓸 수 없습니다 (기존 클러스터를 사용하므로)", En: "--kind-config %s: not with --context/--kubeconfig, which use an existing cluster"},
	BadProvisioner:         {Ko: "--provisioner %q: kind 또는 terraform 이어야 합니다", En: "--provisioner %q: want kind or terraform"},
	DoctorUnfit:            {Ko: "doctor: 이 환경은 적합하지 않습니다. ✗ 표시된 줄을 고치세요", En: "doctor: this environment is not fit; fix the ✗ lines"},

	UnknownChapter: {Ko: "알 수 없는 장 %q; 사용 가능: %s (`mlops-series list` 참고)", En: "unknown chapter %q; available: %s (see `mlops-series list`)"},
	ComingChapter:  {Ko: "%s (%s): 아직 준비 중인 장입니다 (글과 스펙이 없음); 사용 가능: %s", En: "%s (%s) is coming: its post and spec are not written yet; available: %s"},
	NoComponent:    {Ko: "%s: 구성 요소 %q 없음 (%s 및 선행 장의 구성 요소: %s)", En: "%s has no component %q (components of %s and the chapters it requires: %s)"},

	Header:           {Ko: "%d장 · %s · %s\n", En: "chapter %d · %s · %s\n"},
	HeaderPost:       {Ko: "글: %s", En: "post: %s"},
	HeaderDocs:       {Ko: "문서: %s", En: "docs: %s"},
	PreflightStart:   {Ko: "사전 점검: %s 및 선행 장 렌더링", En: "preflight: rendering %s and what it requires"},
	PreflightFailed:  {Ko: "사전 점검: 렌더링 실패", En: "preflight: render failed"},
	PreflightOK:      {Ko: "사전 점검: 구성 요소 %d개, 메모리 %d MiB, CPU %dm 요청", En: "preflight: %d components, %d MiB memory and %dm CPU requested"},
	ClusterStart:     {Ko: "클러스터: %s", En: "cluster: %s"},
	ClusterFailed:    {Ko: "클러스터: %s 사용 불가", En: "cluster: %s not available"},
	ClusterReady:     {Ko: "클러스터 %s (%s, Kubernetes %s) 준비 완료", En: "cluster %s (%s, Kubernetes %s) ready"},
	ClusterCreated:   {Ko: "클러스터 %s (%s, Kubernetes %s) 생성 완료", En: "cluster %s (%s, Kubernetes %s) created"},
	WithRead:         {Ko: "%v\n참고: %s", En: "%v\nread: %s"},
	InstallStart:     {Ko: "%s %s (네임스페이스 %s)", En: "%s %s (namespace %s)"},
	InstallFailed:    {Ko: "%s %s 설치 실패 (네임스페이스 %s)", En: "%s %s failed (namespace %s)"},
	Installed:        {Ko: "%s %s 설치 완료 (네임스페이스 %s, 리비전 %d)", En: "%s %s installed (namespace %s, revision %d)"},
	Upgraded:         {Ko: "%s %s 업그레이드 완료 (네임스페이스 %s, 리비전 %d)", En: "%s %s upgraded (namespace %s, revision %d)"},
	Unchanged:        {Ko: "%s %s 변경 없음 (네임스페이스 %s, 리비전 %d)", En: "%s %s unchanged (namespace %s, revision %d)"},
	PublishStart:     {Ko: "%s/ 폴더를 %s 에 push 하는 중", En: "pushing folder %s/ to %s"},
	Published:        {Ko: "%s/ 를 %s 에 push 함: %s (파일 %d개)", En: "%s/ pushed to %s: %s (%d files)"},
	PublishUnchanged: {Ko: "%s/ 는 %s 와 같음: %s (파일 %d개)", En: "%s/ already in %s: %s (%d files)"},
	PublishFailed:    {Ko: "%s/ 를 %s 에 push 하지 못함", En: "pushing %s/ to %s failed"},
	GitopsWaitStart:  {Ko: "Flux(Kustomization %s)가 %s 를 적용하기를 기다리는 중", En: "waiting for Flux to apply %[2]s (Kustomization %[1]s)"},
	GitopsApplied:    {Ko: "Kustomization %s 가 %s 를 적용함", En: "Kustomization %s applied %s"},
	GitopsWaitFailed: {Ko: "Kustomization %s 가 %s 를 적용하지 못함", En: "Kustomization %s did not apply %s"},
	Note:             {Ko: "   알림: %s\n", En: "   note: %s\n"},
	LedgerNotUpdated: {Ko: "   설치 기록(ledger)을 갱신하지 못했습니다: %v\n", En: "   could not update the ledger: %v\n"},
	PartlyInstalled: {
		Ko: "%s: 일부만 설치되었습니다 (실패: %s). 원인을 고친 뒤 `mlops-series up %s` 를 다시 실행하면 나머지를 맞추고, `mlops-series down %s` 는 설치된 것을 지웁니다.\n",
		En: "%s is partly installed (failed: %s). Fix the cause and run `mlops-series up %s` again to converge, or `mlops-series down %s` to remove it.\n"},
	FooterOpen:   {Ko: "열기:  mlops-series open %s\n", En: "open:  mlops-series open %s\n"},
	FooterRead:   {Ko: "참고:  %s\n", En: "read:  %s\n"},
	FooterNext:   {Ko: "다음:  mlops-series up %s\n", En: "next:  mlops-series up %s\n"},
	FooterComing: {Ko: "다음:  %s (%s) 준비 중\n", En: "next:  %s (%s) is coming\n"},

	ChecksStart:       {Ko: "%s 체크 %d개 실행", En: "checks of %s (%d)"},
	ChecksPassed:      {Ko: "체크 %d/%d 통과", En: "checks %d/%d passed"},
	ChecksSkipped:     {Ko: ", %d개 건너뜀", En: ", %d skipped"},
	ChecksFailed:      {Ko: "check %[1]s: 체크 %[3]d개 중 %[2]d개 실패: %[4]s", En: "check %s: %d of %d checks failed: %s"},
	CheckVia:          {Ko: "      경유: %s\n", En: "      via: %s\n"},
	CheckRead:         {Ko: "      참고: %s\n", En: "      read: %s\n"},
	CheckCounts:       {Ko: "%s: %d개 통과, %d개 실패, %d개 건너뜀\n", En: "%s: %d passed, %d failed, %d skipped\n"},
	CheckFailedCounts: {Ko: "check %s: %d개 통과, %d개 실패, %d개 건너뜀", En: "check %s: %d passed, %d failed, %d skipped"},
	BadEndpoint:       {Ko: "--endpoint %q: NAME=URL 형식이어야 합니다 (예: mlflow=http://127.0.0.1:5000)", En: "--endpoint %q: want NAME=URL, e.g. mlflow=http://127.0.0.1:5000"},
	EndpointFlag:      {Ko: "--endpoint %s: %v", En: "--endpoint %s: %v"},

	PathHeader: {Ko: "시리즈 전체 경로: %s\n", En: "The whole path of the series: %s\n"},
	PathNotRun: {Ko: "    · %s: 실행하지 않음 (앞 단계가 실패)\n", En: "    · %s: not run (an earlier hop failed)\n"},
	PathNotUp: {
		Ko: "check path 는 챕터 %s 가 모두 올라와 있어야 합니다. 아직 없는 것: %s. `mlops-series up` 으로 먼저 올리세요 (아무것도 바꾸지 않았습니다)",
		En: "check path needs chapters %s up; not up: %s. Bring them up with `mlops-series up` first (nothing was changed)"},
	PathEndpoint: {Ko: "--endpoint %s: 경로에 없는 구성 요소입니다 (경로의 구성 요소: %s)", En: "--endpoint %s: not a component of the path (its components: %s)"},
	PathPassed:   {Ko: "check path: %d개 단계 모두 통과\n", En: "check path: all %d hops passed\n"},
	PathFailed:   {Ko: "check path: %d개 단계 중 %d개 통과, %s 단계에서 실패", En: "check path: %d of %d hops passed, failed at %s"},

	DoctorStart:    {Ko: "doctor: 이 머신에서 %s 실행이 가능한지 점검", En: "doctor: is this machine fit for %s?"},
	DoctorNotFit:   {Ko: "doctor: 이 환경은 적합하지 않습니다 (아무것도 바꾸지 않았습니다)", En: "doctor: this environment is not fit (nothing was changed)"},
	DoctorUnfitFor: {Ko: "doctor: %s 에 적합하지 않은 환경입니다. 위의 ✗ 줄을 고치거나 --skip-doctor 를 주세요", En: "doctor: environment unfit for %s; fix the ✗ lines above, or pass --skip-doctor"},
	DoctorPassed:   {Ko: "doctor: 점검 %d개 통과", En: "doctor: %d checks passed"},
	DoctorWarnings: {Ko: ", 경고 %d개 (`mlops-series doctor %s` 로 확인)", En: ", %d warnings (run `mlops-series doctor %s`)"},

	DownNoTarget:         {Ko: "down: 장을 지정하거나 (예: `mlops-series down chapter-6`) --all 을 주세요", En: "down: name a chapter (e.g. `mlops-series down chapter-6`) or pass --all"},
	DownBoth:             {Ko: "down: 장과 --all 중 하나만 주세요", En: "down: give a chapter or --all, not both"},
	NothingToDo:          {Ko: "할 일 없음: %v\n", En: "nothing to do: %v\n"},
	NotInstalled:         {Ko: "%s: 클러스터 %s 에 설치되어 있지 않아 할 일이 없습니다\n", En: "%s is not installed on cluster %s: nothing to do\n"},
	DownRefusedOne:       {Ko: "down %s: 거부됨: 설치된 %s 에서 이 장을 필요로 합니다. 먼저 `mlops-series down %s` 를 실행하세요", En: "down %s: refused: installed %s requires it; run `mlops-series down %s` first"},
	DownRefusedMany:      {Ko: "down %s: 거부됨: 설치된 %s 에서 이 장을 필요로 합니다. 먼저 `mlops-series down %s` 를 실행하세요", En: "down %s: refused: installed %s require it; run `mlops-series down %s` first"},
	DeleteStart:          {Ko: "%s 삭제", En: "delete %s"},
	ClusterWhat:          {Ko: "클러스터 %s (%s)", En: "cluster %s (%s)"},
	ClusterLeft:          {Ko: "%s 그대로 둠: %v", En: "%s left as it is: %v"},
	ClusterKept:          {Ko: "%s 삭제 실패", En: "%s kept"},
	ClusterDeleted:       {Ko: "%s 삭제 완료 (mlops-series 가 만든 클러스터)", En: "%s deleted (it was created by mlops-series)"},
	Removing:             {Ko: "%s 제거\n", En: "removing %s\n"},
	RemovedWithCluster:   {Ko: "%s: 클러스터와 함께 제거됩니다 (mlops-series 가 만든 kind 노드를 지우면 릴리스, 볼륨, 네임스페이스도 함께 지워지므로 하나씩 제거하지 않습니다)\n", En: "%s: removed with the cluster (mlops-series created the kind node, and deleting it removes the releases, volumes and namespaces too, so they are not uninstalled one by one)\n"},
	UninstallStart:       {Ko: "%s 제거 (네임스페이스 %s)", En: "uninstall %s (namespace %s)"},
	UninstallFailed:      {Ko: "%s 제거 실패", En: "uninstall %s failed"},
	VolumesFailed:        {Ko: "%s 의 볼륨 삭제 실패", En: "delete volumes of %s failed"},
	Uninstalled:          {Ko: "%s 제거 완료 (네임스페이스 %s%s)", En: "%s uninstalled (namespace %s%s)"},
	WasNotInstalled:      {Ko: "%s: 설치되어 있지 않았음 (네임스페이스 %s%s)", En: "%s was not installed (namespace %s%s)"},
	VolumeDeleted:        {Ko: ", 볼륨 클레임 %d개 삭제", En: ", %d volume claim deleted"},
	VolumesDeleted:       {Ko: ", 볼륨 클레임 %d개 삭제", En: ", %d volume claims deleted"},
	NamespaceKept:        {Ko: "   네임스페이스 %s 유지: %s 에서 사용 중\n", En: "   namespace %s kept: %s uses it\n"},
	NamespaceDeleteStart: {Ko: "네임스페이스 %s 삭제", En: "delete namespace %s"},
	NamespaceNotDeleted:  {Ko: "네임스페이스 %s 삭제 실패", En: "namespace %s not deleted"},
	NamespaceDeleted:     {Ko: "네임스페이스 %s 삭제 완료 (%s 에서 생성)", En: "namespace %s deleted (created by %s)"},

	StatusNotInstalled: {Ko: "%s: 클러스터 %s 에 설치되어 있지 않습니다. `mlops-series up %s` 로 설치하세요", En: "%s is not installed on cluster %s: `mlops-series up %s` installs it"},

	CredsLogin:    {Ko: "%s · %s · Secret %s/%s 에서 읽음\n", En: "%s · %s · from Secret %s/%s\n"},
	CredsUser:     {Ko: "  사용자:    %s\n", En: "  user:      %s\n"},
	CredsPassword: {Ko: "  비밀번호:  %s\n", En: "  password:  %s\n"},
	CredsOpen:     {Ko: "  열기:      mlops-series open %s\n", En: "  open:      mlops-series open %s\n"},
	CredsNone:     {Ko: "%s: 로그인이 필요한 도구가 없습니다 (로그인 정보가 있는 구성 요소: %s)\n", En: "%s: none of its tools needs a login (components with one: %s)\n"},
	CredsUnknown:  {Ko: "%q: 장도, 로그인 정보가 있는 구성 요소도 아닙니다 (로그인 정보가 있는 구성 요소: %s)", En: "%q is neither a chapter nor a component with a login (components with one: %s)"},
	CredsNoLogin:  {Ko: "%s (%s): 로그인 정보가 없는 구성 요소입니다 (로그인 정보가 있는 구성 요소: %s)", En: "%s (%s) has no login to show (components with one: %s)"},
	CredsNotUp: {
		Ko: "%[1]s: Secret %[2]s/%[3]s 없음. %[4]s: 클러스터 %[5]s 에 올라와 있지 않습니다. `mlops-series up %[4]s` 로 올리세요",
		En: "%s: Secret %s/%s not found: %s is not up on cluster %s; `mlops-series up %[4]s` brings it up"},
	CredsNoKey: {Ko: "%s: Secret %s/%s 에 키 %q 없음 (있는 키: %s)", En: "%s: Secret %s/%s has no key %q (its keys: %s)"},

	LockStillHeld:    {Ko: "클러스터 잠금: 아직 다른 작업이 사용 중 (%s)", En: "cluster lock: still held by %s"},
	LockNowHeld:      {Ko: "클러스터 잠금: 앞선 작업이 끝났고 이제 다른 작업이 사용 중 (%s)", En: "cluster lock: the previous holder finished; now held by %s"},
	LockWaiting:      {Ko: "클러스터 잠금: 다른 작업이 사용 중 (%s); 기다리는 중 (최대 %s, 또는 마지막 갱신 후 %s 가 지나 만료될 때까지)", En: "cluster lock: held by %s; waiting for it (at most %s, or until it expires %s after its last renewal)"},
	LockStillWaiting: {Ko: "   클러스터 잠금을 계속 기다리는 중 (지금까지 %s, 사용 중: %s)\n", En: "   still waiting for the cluster lock (%s so far): held by %s\n"},
	LockInterrupted:  {Ko: "클러스터 잠금: 기다리다 중단됨", En: "cluster lock: interrupted while waiting"},
	LockNotTaken:     {Ko: "클러스터 잠금: 얻지 못함", En: "cluster lock: not taken"},
	LockTaken:        {Ko: "클러스터 잠금: %s 기다린 뒤 얻음", En: "cluster lock: taken after waiting %s"},
	LockTookOver:     {Ko: "   클러스터 잠금: 갱신이 멈춘 작업(%s)에게서 넘겨받음 (그 작업은 잠금을 풀지 않고 끝났습니다)\n", En: "   cluster lock: took over from %s, which stopped renewing it (the run ended without releasing it)\n"},

	DoctorFix:            {Ko: "   해결: %s\n", En: "   fix: %s\n"},
	DoctorRead:           {Ko: "   참고: %s\n", En: "   read: %s\n"},
	EngineNotInstalled:   {Ko: "%s: 설치되어 있지 않습니다 (%v)", En: "%s is not installed (%v)"},
	EngineNoAnswer:       {Ko: "%s 데몬이 응답하지 않습니다: %s", En: "%s daemon does not answer: %s"},
	EngineNoAnswerInTime: {Ko: "제시간에 응답 없음 (%v)", En: "no answer in time (%v)"},
	EngineNoVersion:      {Ko: "출력에 서버 버전이 없음", En: "no server version in the output"},
	EngineReadInfo:       {Ko: "`%s info` 읽기: %v", En: "read `%s info`: %v"},
	EngineFix: {
		Ko: "Docker Desktop 을 시작하거나 `sudo systemctl start docker` / `podman machine start` 를 실행하세요. 또는 --context NAME 으로 기존 클러스터에 배포하세요",
		En: "start Docker Desktop / `sudo systemctl start docker` / `podman machine start`, or deploy onto an existing cluster with --context NAME"},
	EngineOK:   {Ko: "%s %s 응답: CPU %d개, 메모리 %s, %s", En: "%s %s answers: %d CPUs, %s memory, %s"},
	MemoryWhat: {Ko: "엔진이 컨테이너에 주는 메모리 %s; 챕터 요청 %s, kind 노드용 약 1 GiB 별도", En: "the engine gives containers %s; the chapter requests %s, plus ~1 GiB for the kind node"},
	MemoryFix: {
		Ko: "엔진에 메모리를 %[1]d GiB 이상 주세요: Docker Desktop → Settings → Resources → Memory; " +
			"Podman: `podman machine stop && podman machine set --memory %[2]d && podman machine start`. " +
			"Linux 의 Docker Engine 은 호스트 메모리를 그대로 쓰므로 다른 프로그램을 닫으세요",
		En: "give the engine at least %d GiB: Docker Desktop → Settings → Resources → Memory; " +
			"Podman: `podman machine stop && podman machine set --memory %d && podman machine start`. " +
			"Docker Engine on Linux uses the host's memory: close other programs"},
	MemoryUnknown: {Ko: "엔진이 메모리를 알려 주지 않았습니다; 이 챕터에 필요한 메모리 %s", En: "the engine did not report its memory; the chapter needs %s"},
	MemoryTooLow:  {Ko: "%s: 파드가 들어가지 않습니다 (%s 필요)", En: "%s: pods will not fit (needs %s)"},
	MemoryTight:   {Ko: "%s: 빠듯합니다, %s 권장", En: "%s: tight, %s recommended"},
	CPUFix: {
		Ko: "엔진에 CPU를 더 주세요: Docker Desktop → Settings → Resources → CPUs (4개면 여유 있음); " +
			"Podman: `podman machine stop && podman machine set --cpus 4 && podman machine start`",
		En: "give the engine more CPUs: Docker Desktop → Settings → Resources → CPUs (4 is comfortable); " +
			"Podman: `podman machine stop && podman machine set --cpus 4 && podman machine start`"},
	CPUWhat:           {Ko: "CPU %d개, 요청 %dm (+kind 자체 파드 %dm)", En: "%d CPUs for %dm requested (+%dm for kind's own pods)"},
	CPUUnknown:        {Ko: "엔진이 CPU 수를 알려 주지 않았습니다", En: "the engine did not report its CPUs"},
	CPUTooFew:         {Ko: "%s: 파드가 Pending 으로 남습니다 (Insufficient cpu)", En: "%s: pods would stay Pending (Insufficient cpu)"},
	CPUOne:            {Ko: "%s: CPU 1개로는 클러스터 시작이 느립니다", En: "%s: 1 CPU makes the cluster slow to start"},
	DiskNoCacheDir:    {Ko: "여유 디스크를 잴 캐시 폴더를 찾을 수 없습니다: %v", En: "cannot find the cache dir to measure free disk: %v"},
	DiskCannotMeasure: {Ko: "%s 의 여유 디스크를 잴 수 없습니다: %v", En: "cannot measure free disk at %s: %v"},
	DiskFix: {
		Ko: "디스크 공간을 확보하세요: `docker system prune` 은 멈춘 컨테이너와 쓰지 않는 이미지를 지웁니다 " +
			"(Podman 은 `podman system prune`); Docker Desktop 의 디스크 한도는 Settings → Resources 에 있습니다",
		En: "free disk space: `docker system prune` removes stopped containers and unused images " +
			"(`podman system prune` for Podman); Docker Desktop's disk limit is in Settings → Resources"},
	DiskWhat:          {Ko: "%s 여유 (%s)", En: "%s free at %s"},
	DiskTooLow:        {Ko: "%s: 이미지가 들어가지 않습니다 (%s 권장)", En: "%s: images will not fit (%s recommended)"},
	DiskLow:           {Ko: "%s: 이미지용으로 %s 권장", En: "%s: %s recommended for the images"},
	InotifyNotLinux:   {Ko: "Linux 가 아님: Docker Desktop 의 VM 이 관리합니다", En: "not Linux: Docker Desktop's VM manages it"},
	InotifyCannotRead: {Ko: "inotify 한도를 읽을 수 없습니다: %v", En: "cannot read the inotify limits: %v"},
	InotifyWhat:       {Ko: "max_user_watches %d, max_user_instances %d", En: "max_user_watches %d, max_user_instances %d"},
	InotifyFileMax:    {Ko: ", file-max %d", En: ", file-max %d"},
	InotifyLow:        {Ko: "%s: 너무 낮아 kind 의 파드가 \"too many open files\" 로 실패합니다", En: "%s: too low, kind's pods fail with \"too many open files\""},
	InotifyFix: {
		Ko: "sudo sysctl %[1]s\n재부팅 후에도 유지하려면: printf '%%s\\n' %[1]s | sudo tee /etc/sysctl.d/99-kind.conf",
		En: "sudo sysctl %[1]s\nto keep it after a reboot: printf '%%s\\n' %[1]s | sudo tee /etc/sysctl.d/99-kind.conf"},
	PortsFixConfig: {Ko: "kind-config.yaml 을 고치세요", En: "correct kind-config.yaml"},
	PortInUse:      {Ko: "%s/%s 사용 중", En: "%s/%s in use"},
	PortCannotBind: {Ko: "%s/%s 바인딩 불가: %v", En: "%s/%s cannot be bound: %v"},
	PortsFree:      {Ko: "호스트 포트 사용 가능: %s", En: "host ports free: %s"},
	PortsBusy:      {Ko: "호스트 포트 %s (kind-config.yaml 이 클러스터용으로 매핑하는 포트)", En: "host port %s (kind-config.yaml maps it for the cluster)"},
	PortFix: {
		Ko: "%[1]d 번 포트를 비우거나 (누가 쓰는지는 `lsof -nP -i :%[1]d` 또는 `ss -ltnp 'sport = :%[1]d'` 로 확인) kind-config.yaml 의 hostPort 를 바꾸세요",
		En: "free port %[1]d (`lsof -nP -i :%[1]d` or `ss -ltnp 'sport = :%[1]d'` shows who holds it), or change its hostPort in kind-config.yaml"},
	PortFixAirPlay: {
		Ko: "; macOS 에서는 AirPlay 수신 모드가 %d 번 포트를 씁니다: 시스템 설정 → 일반 → AirDrop 및 Handoff → AirPlay 수신 모드 끄기",
		En: "; on macOS, AirPlay Receiver holds %d: System Settings → General → AirDrop & Handoff → AirPlay Receiver off"},
	ArchOne:  {Ko: "%[2]s 에서 %[1]s 이미지 %[3]s: 에뮬레이션으로 돌거나 아예 돌지 않습니다", En: "%s image on %s: %s runs under emulation or not at all"},
	ArchMany: {Ko: "%s 용으로 빌드되지 않은 이미지는 에뮬레이션으로 돌거나 아예 돌지 않습니다: %s", En: "images not built for %s run under emulation or not at all: %s"},
	ArchFix:  {Ko: "이 챕터는 이미지와 같은 아키텍처의 머신이나 클러스터(--context NAME)에서 실행하세요", En: "run this chapter on a machine or cluster (--context NAME) of the image's architecture"},
	ArchFixArm64: {
		Ko: "이 챕터는 amd64 머신이나 클러스터(--context NAME)에서 실행하세요; Apple silicon 에서는 Docker Desktop → " +
			"Settings → General → \"Use Rosetta for x86_64/amd64 emulation\" 으로 느리지만 돌아갈 수 있습니다",
		En: "run this chapter on an amd64 machine or cluster (--context NAME); on Apple silicon, Docker Desktop → " +
			"Settings → General → \"Use Rosetta for x86_64/amd64 emulation\" may run it, slowly"},
	ArchUnknown:           {Ko: "%s 용으로 빌드되었는지 알 수 없는 이미지: %s", En: "unknown whether these images are built for %s: %s"},
	ArchUnknownFix:        {Ko: "`docker manifest inspect IMAGE` 가 플랫폼 목록을 보여 줍니다: 그중 %s 를 찾으세요", En: "`docker manifest inspect IMAGE` lists its platforms; look for %s"},
	ArchAll:               {Ko: "이미지 %d개 모두 %s 용으로 빌드됨", En: "all %d images are built for %s"},
	ArchSome:              {Ko: "%s 에서 이미지 %d개, 그중 %d개는 플랫폼 확인됨", En: "%[2]d images on %[1]s, %[3]d of them with known platforms"},
	ClusterUnreachable:    {Ko: "연결 불가: %v", En: "not reachable: %v"},
	ClusterUnreachableFix: {Ko: "`kubectl --context %s get nodes` 가 응답해야 합니다: 컨텍스트(`kubectl config get-contexts`), VPN, 자격 증명을 확인하세요", En: "`kubectl --context %s get nodes` must answer: check the context (`kubectl config get-contexts`), VPN and credentials"},
	ClusterReachable:      {Ko: "연결됨, Kubernetes %s", En: "reachable, Kubernetes %s"},
	ClusterReachableNamed: {Ko: "%s 연결됨, Kubernetes %s", En: "%s reachable, Kubernetes %s"},
	CgroupOK:              {Ko: "컨테이너가 cgroup v%s 를 씀", En: "containers get cgroup v%s"},
	CgroupV1: {
		Ko: "엔진이 컨테이너를 cgroup v1 으로 돌립니다. kubelet 1.35+ 는 기본적으로 이를 거부하므로 " +
			"up 이 kind 설정에 kubelet 설정 failCgroupV1: false 를 넣어 클러스터가 뜨게 합니다",
		En: "the engine runs containers on cgroup v1, which kubelet 1.35+ refuses by default; " +
			"up adds the kubelet setting failCgroupV1: false to the kind config, so the cluster starts"},
	CgroupV1Fix: {
		Ko: "up 을 위해 할 일은 없습니다; 근본 해결은 cgroup v2 호스트입니다 (`stat -fc %%T /sys/fs/cgroup` 이 cgroup2fs): " +
			"최신 배포판을 쓰거나 systemd.unified_cgroup_hierarchy=1 로 부팅하세요; Docker Desktop 과 Podman 머신은 v2 를 씁니다",
		En: "nothing to do for up; the real fix is a host on cgroup v2 (`stat -fc %%T /sys/fs/cgroup` says cgroup2fs): " +
			"a current distribution, or boot with systemd.unified_cgroup_hierarchy=1; Docker Desktop and Podman machines use v2"},
	ImagesCannotList:     {Ko: "엔진의 이미지 목록을 읽을 수 없습니다: %v", En: "cannot list the engine's images: %v"},
	ImagesCannotListNode: {Ko: "kind 노드의 이미지 목록을 읽을 수 없습니다: %v", En: "cannot list the kind node's images: %v"},
	ProbeNoImage:         {Ko: "확인하지 않음: 엔진에 프로브 컨테이너를 띄울 이미지가 없습니다", En: "not checked: the engine holds no image to start a probe container with"},
	PrivilegedOK:         {Ko: "privileged 컨테이너 시작됨 (프로브 이미지: %s)", En: "privileged containers start (probed with %s)"},
	PrivilegedFails:      {Ko: "`%s run --privileged` 실패: unable to apply caps: kind 가 노드를 시작할 수 없습니다", En: "`%s run --privileged` fails: unable to apply caps: kind cannot start its node"},
	PrivilegedUnknown:    {Ko: "privileged 컨테이너가 시작되는지 알 수 없습니다: %s", En: "cannot tell whether privileged containers start: %s"},
	CapsFix: {
		Ko: "kind 의 노드는 --privileged 로 돌고, 이 머신의 capability bounding set 에는 runc 가 주려는 capability 가 없습니다 " +
			"(`grep CapBnd /proc/self/status`; CAP_SYS_RESOURCE 는 24번 비트). 일반 호스트나 VM 에서 실행하거나, 컨테이너 설정에서 " +
			"CAP_SYS_RESOURCE 를 빼는 OCI 런타임 래퍼를 등록하세요 (저장소의 hack/kind/docker-up.sh 가 Docker Engine 용으로 설치합니다)",
		En: "kind's node runs --privileged, and this machine's capability bounding set lacks a capability runc grants it " +
			"(`grep CapBnd /proc/self/status`; CAP_SYS_RESOURCE is bit 24). Run on a normal host or VM, or register an OCI runtime wrapper " +
			"that drops CAP_SYS_RESOURCE from the container's config (hack/kind/docker-up.sh of the repository installs one for Docker Engine)"},
	OOMOK:         {Ko: "컨테이너가 oom_score_adj 를 낮출 수 있음", En: "containers may lower oom_score_adj"},
	OOMRestricted: {Ko: "여기서는 어떤 프로세스도 oom_score_adj 를 낮출 수 없지만, kind 설정이 containerd 의 restrict_oom_score_adj = true 를 켜므로 파드가 뜹니다", En: "no process here may lower oom_score_adj; the kind config sets containerd's restrict_oom_score_adj = true, so pods start"},
	OOMFails:      {Ko: "엔진이 oom_score_adj 를 낮출 수 없습니다 (프로브: %s): kubeadm 이 6443 에서 \"connection refused\" 로 실패합니다", En: "the engine cannot lower oom_score_adj (probe: %s): kubeadm would fail with \"connection refused\" on 6443"},
	OOMFix: {
		Ko: "kind 의 노드는 containerd 를 돌리고, kubelet 은 파드 샌드박스에 oom_score_adj -998 을 요청하는데 여기서는 어떤 프로세스도 그 값을 줄 수 없습니다. " +
			"containerd 의 restrict_oom_score_adj 를 켜는 kind 설정을 주세요: --kind-config FILE 에\n%s",
		En: "kind's node runs containerd, and the kubelet asks it to give pod sandboxes oom_score_adj -998, which no process here may set. " +
			"Pass a kind config that sets containerd's restrict_oom_score_adj: --kind-config FILE with\n%s"},
	ImagesInEngine:      {Ko: "이미지 %[2]d개 중 %[1]d개가 로컬 엔진에 있음", En: "%d of %d images in the local engine"},
	ImagesOnNode:        {Ko: ", %d개는 kind 노드에 있음", En: ", %d more on the kind node"},
	ImagesNothingToPull: {Ko: "%s: 받을 것 없음", En: "%s: nothing to pull"},
	ImagesToPull:        {Ko: "%s; %d개는 응답하는 레지스트리에서 받음", En: "%s; %d to pull from registries that answer"},
	ImagesMissing:       {Ko: "%s; 없는 이미지가 있고 응답하는 레지스트리도 없음: %s", En: "%s; missing, and no registry answers for them: %s"},
	ImagesMirrors:       {Ko: "%s (kind 설정이 노드의 레지스트리 미러를 지정하므로 거기서 받을 수도 있음)", En: "%s (the kind config sets registry mirrors for the node: it may pull them from there)"},
	ImagesLoadFix: {
		Ko: "레지스트리가 응답하는 곳에서 만든 아카이브로 이미지를 넣으세요: 그곳에서 `mlops-series images pull CHAPTER` 와 " +
			"`mlops-series images save FILE CHAPTER`, 여기서 `mlops-series images load FILE`",
		En: "load the images from an archive made where a registry answers: there `mlops-series images pull CHAPTER` and " +
			"`mlops-series images save FILE CHAPTER`, here `mlops-series images load FILE`"},
	ImagesNotBuilt: {Ko: "%s; 시리즈가 직접 빌드하는 이미지가 아직 없음: %s", En: "%s; the series' own images are not built yet: %s"},
	ImagesBuildFix: {
		Ko: "시리즈의 자체 이미지는 레지스트리에 없습니다. 로컬 엔진으로 빌드해 kind 노드에 넣으세요: `mlops-series images build CHAPTER`",
		En: "the series' own images are in no registry: build them with the local engine and load them into the kind node with `mlops-series images build CHAPTER`"},
	ImagesNodeFix: {
		Ko: "kind 노드 이미지: 엔진에 넣거나 (`docker load -i FILE`), 엔진에 있는 노드 이미지를 지정하는 --kind-config FILE 을 주세요 (nodes: [{role: control-plane, image: ...}])",
		En: "for the kind node image: load it into the engine (`docker load -i FILE`), or pass --kind-config FILE naming a node image the engine holds (nodes: [{role: control-plane, image: ...}])"},
}
